/**
 * TRUST_PROXY: which proxies in front of Gatehouse may tell it the client's address through
 * X-Forwarded-For, in Express's own terms (decision 060). Either the number of proxy hops
 * (Express then takes the address that many entries from the right, the one the last trusted
 * proxy saw), or a comma list of the proxies' addresses and ranges. Off by default: the address
 * is the TCP peer's. `true` is refused: Express would then take the leftmost entry, which the
 * client writes itself, so anyone could choose the address their rate limits and audit entries
 * are kept under.
 */
import { isIP } from 'node:net'

/** Express's names for address ranges (proxy-addr). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

export type TrustProxy = false | number | string[]

/** Parses the raw value; adds a message to `problems` and returns false when it is not valid. */
export function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy {
  const value = (raw ?? '').trim()
  if (value === '' || value === 'false' || value === '0') return false
  if (value.toLowerCase() === 'true') {
    problems.push(
      'TRUST_PROXY: "true" would trust every address in X-Forwarded-For, so any client could choose its own address for rate limits and the audit log; ' +
        'give the number of proxies in front of Gatehouse (e.g. 1) or their addresses (e.g. loopback or 10.0.0.0/8)',
    )
    return false
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (hops > 0 && hops <= 16) return hops
    problems.push(`TRUST_PROXY: ${value} proxy hops is not believable; give the number of proxies in front of Gatehouse (e.g. 1)`)
    return false
  }
  const entries = value.split(',').map((s) => s.trim())
  const bad = entries.filter((e) => !isAddressOrRange(e))
  if (bad.length > 0) {
    problems.push(
      `TRUST_PROXY: ${bad.map((e) => `"${e}"`).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a proxy count, an address, a range (10.0.0.0/8) ` +
        `or one of ${[...NAMED_RANGES].join(', ')}`,
    )
    return false
  }
  return entries
}

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true
  const [address, prefix, ...rest] = entry.split('/')
  const version = isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  if (/^\d{1,3}$/.test(prefix)) return Number(prefix) <= (version === 4 ? 32 : 128)
  // proxy-addr also takes an IPv4 netmask (10.0.0.0/255.0.0.0).
  return version === 4 && isIP(prefix) === 4
}
