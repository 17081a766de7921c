/** The members table's sort keys and statuses: shared by the server query and the page in the browser (no .server). */
export const SORTS = ['name', 'email', 'region', 'role', 'kind', 'status', 'lastSignIn', 'joined'] as const
export const STATUSES = ['compliant', 'in_grace', 'overdue', 'exempt'] as const
