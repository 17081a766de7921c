import type { ApiData } from '#app/api/define.server.ts'
import type { putRegionEndpoint } from '#app/api/endpoints/security.server.ts'
import { UsageError, defineCommand, type Values } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, serverUrl } from './_client.ts'
import { describePolicy, type Security } from './org-security-get.ts'

type Change = ApiData<typeof putRegionEndpoint>

const str = (values: Values, name: string) => (typeof values[name] === 'string' && (values[name] as string).trim() ? (values[name] as string).trim() : undefined)
function int(values: Values, name: string): number | undefined {
  const v = str(values, name)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number of days`)
  return Number(v)
}

export default defineCommand({
  name: 'org security set',
  group: 'client',
  summary: 'require or relax the MFA policy in an organization’s regions, exempt service accounts',
  usage: '<org> (--require | --optional) [--region R] [--grace-days N] [--exempt USER_ID --reason TEXT [--expires DATE]]   or   <org> --region R [--mode M] [--methods a,b] [--on-deadline D] [--remember-days N]',
  description:
    'With --require or --optional: every region of the organization (or only --region) becomes Required or Optional, keeping its other settings. ' +
    'With --mode, --methods, --on-deadline or --remember-days: one region’s policy is replaced (the rest kept as it is now). ' +
    'Prints what the change does (members without an allowed factor, their deadline, what it lowers). A change that lowers protection (a mode down, a method added, longer grace or remember-device periods, block → force_enrollment, an exemption) needs a second factor in the last 5 minutes: sign in again with it first.',
  positionals: [{ name: 'org', description: 'the organization’s slug or id' }],
  options: {
    url: URL_OPTION,
    org: { type: 'string', placeholder: 'slug', description: 'the organization (or give it as the argument)' },
    require: { type: 'boolean', description: 'require a second factor' },
    optional: { type: 'boolean', description: 'make the second factor optional' },
    region: { type: 'string', placeholder: 'code', description: 'only this region' },
    'grace-days': { type: 'string', placeholder: 'days', description: 'grace period before Required is enforced (0-90)' },
    exempt: { type: 'string', placeholder: 'user-id', multiple: true, description: 'exempt this service account (its user id)' },
    reason: { type: 'string', placeholder: 'text', description: 'why the exemption (needed with --exempt)' },
    expires: { type: 'string', placeholder: 'date', description: 'when the exemption ends (2026-12-31); none: until removed' },
    mode: { type: 'string', placeholder: 'mode', description: 'disabled, optional or required (one region)' },
    methods: { type: 'string', placeholder: 'list', description: 'allowed methods, comma-separated: email,totp,webauthn' },
    'on-deadline': { type: 'string', placeholder: 'action', description: 'force_enrollment or block' },
    'remember-days': { type: 'string', placeholder: 'days', description: 'how long a remembered device counts (0-30)' },
  },
  examples: ['gatehouse org security set acme --require --grace-days 14', 'gatehouse org security set acme --region eu --methods totp,webauthn --on-deadline block'],
  async run({ values, positionals, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const org = encodeURIComponent(positionalOrOption(values, positionals, 'org'))
    const region = str(values, 'region')
    const full = ['mode', 'methods', 'on-deadline', 'remember-days'].some((n) => str(values, n) !== undefined)
    let result: Change
    if (full) {
      if (!region) throw new UsageError('--mode, --methods, --on-deadline and --remember-days change one region: add --region')
      if (values.require || values.optional || values.exempt) throw new UsageError('use either --require/--optional/--exempt or --mode/--methods/--on-deadline/--remember-days, not both')
      const current = (await api<Security>(base, `/api/organizations/${org}/security`, { token })).regions.find((r) => r.region === region)
      if (!current) throw new UsageError(`the organization does not operate in region ${region}`)
      const body = {
        mode: str(values, 'mode') ?? current.mode,
        allowedMethods: str(values, 'methods')?.split(',').map((m) => m.trim()).filter(Boolean) ?? current.allowedMethods,
        gracePeriodDays: int(values, 'grace-days') ?? current.gracePeriodDays,
        onDeadline: str(values, 'on-deadline') ?? current.onDeadline,
        rememberDeviceDays: int(values, 'remember-days') ?? current.rememberDeviceDays,
      }
      result = await api<Change>(base, `/api/organizations/${org}/security/regions/${encodeURIComponent(region)}`, { method: 'PUT', body, token })
    } else {
      if (Boolean(values.require) === Boolean(values.optional)) throw new UsageError('say --require or --optional (or change one region with --region and --mode ...)')
      const exempt = (values.exempt as string[] | undefined) ?? []
      const reason = str(values, 'reason')
      if (exempt.length && !reason) throw new UsageError('--exempt needs --reason')
      const body = {
        require2FA: Boolean(values.require),
        ...(int(values, 'grace-days') !== undefined ? { gracePeriodDays: int(values, 'grace-days') } : {}),
        ...(region ? { region } : {}),
        ...(exempt.length ? { exemptions: exempt.map((userId) => ({ userId, reason: reason!, ...(str(values, 'expires') ? { expiresAt: str(values, 'expires') } : {}) })) } : {}),
      }
      result = await api<Change>(base, `/api/organizations/${org}/security`, { body, token })
    }
    print(result, [
      ...result.regions.flatMap((r) => [`${r.changed ? 'Saved' : 'Unchanged'} ${describePolicy(r.policy)}`, `  Impact: ${r.impact.summary}.`, ...(r.notificationRunId ? ['  Affected members are being emailed.'] : [])]),
      ...result.exemptions.map((e) => `Exempted ${e.userId} in ${e.region.toUpperCase()}${e.expiresAt ? ` until ${e.expiresAt.slice(0, 10)}` : ''}.`),
    ])
  },
})
