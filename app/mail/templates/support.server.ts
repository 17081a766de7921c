import type { Template } from '../templates.server.ts'

/** Templates of the support area (see templates.server.ts for the shape and what `mints` means). */
export const supportTemplates = {} satisfies Record<string, Template>
