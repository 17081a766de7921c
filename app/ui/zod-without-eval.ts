/**
 * zod 4 probes `new Function` when it builds an object schema (to compile a faster parser). The
 * browser's CSP forbids eval (decision 059), so the probe is reported as a violation even though
 * zod catches it. In the browser zod runs without that: root.tsx imports this module first, and
 * Remix loads the root route before any other route module builds a schema (decision 065).
 */
import { z } from 'zod'

if (typeof document !== 'undefined') z.config({ jitless: true })
