/**
 * Address ranges in configuration (METRICS_ALLOW, decision 067): a comma list of addresses,
 * CIDR ranges (10.0.0.0/8, fd00::/8) and the name `loopback` (127.0.0.0/8 and ::1). Matched
 * against the TCP peer's address with Node's BlockList; an IPv4 peer seen through an IPv6 socket
 * (::ffff:127.0.0.1) counts as its IPv4 address.
 */
import { BlockList, isIP } from 'node:net'

const NAMED: Record<string, string[]> = { loopback: ['127.0.0.0/8', '::1/128'] }

/** Parses the raw list into CIDR strings; adds a message to `problems` for each entry it cannot read. */
export function parseAddressRanges(raw: string, problems: string[], name: string): string[] {
  const ranges: string[] = []
  const bad: string[] = []
  for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (NAMED[entry]) {
      ranges.push(...NAMED[entry])
      continue
    }
    const [address, prefix, ...rest] = entry.split('/')
    const version = isIP(address)
    const max = version === 4 ? 32 : 128
    if (version === 0 || rest.length > 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
      bad.push(entry)
      continue
    }
    ranges.push(`${address}/${prefix ?? max}`)
  }
  if (bad.length > 0) {
    problems.push(`${name}: ${bad.map((e) => `"${e}"`).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not an address, a range (10.0.0.0/8) or loopback`)
  }
  return ranges
}

/** A test for one address against the parsed ranges; an empty list matches nothing. */
export function addressMatcher(ranges: string[]): (address: string | undefined) => boolean {
  const list = new BlockList()
  for (const range of ranges) {
    const [address, prefix] = range.split('/')
    list.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6')
  }
  return (address) => {
    if (!address) return false
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    const plain = mapped ? mapped[1] : address
    const version = isIP(plain)
    if (version === 0) return false
    return list.check(plain, version === 4 ? 'ipv4' : 'ipv6')
  }
}
