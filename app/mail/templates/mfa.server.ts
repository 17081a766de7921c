import type { Template } from '../templates.server.ts'

/** Templates of the mfa area (see templates.server.ts for the shape and what `mints` means). */
export const mfaTemplates = {} satisfies Record<string, Template>
