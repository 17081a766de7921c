import type { Template } from '../templates.server.ts'

/** Templates of the policy area (see templates.server.ts for the shape and what `mints` means). */
export const policyTemplates = {} satisfies Record<string, Template>
