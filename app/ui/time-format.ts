/**
 * How Gatehouse writes a time (decision 073). Pure, so the server, the browser and the tests share it.
 * The server writes UTC (it does not know the reader's time zone); the browser rewrites the text in
 * the reader's zone through Intl, with a relative form for recent times. The exact ISO time goes in
 * the `title` either way.
 */

export type TimeStyle = 'datetime' | 'date'

const pad = (n: number) => String(n).padStart(2, '0')
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** What the server renders: "2026-11-30 19:31 UTC", or "30 Nov 2026" for a date. Stable in every locale. */
export function formatUtc(value: Date, style: TimeStyle = 'datetime'): string {
  if (style === 'date') return `${value.getUTCDate()} ${MONTHS[value.getUTCMonth()]} ${value.getUTCFullYear()}`
  return `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())} ${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())} UTC`
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Within this distance from now a time reads as "3 minutes ago" / "in 2 hours". */
export const RELATIVE_WITHIN_MS = DAY

/** "just now", "3 minutes ago", "in 2 hours"; null when the time is too far for a relative form. */
export function formatRelative(value: Date, now: Date, locale?: string): string | null {
  const diff = value.getTime() - now.getTime()
  const abs = Math.abs(diff)
  if (abs >= RELATIVE_WITHIN_MS) return null
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
  // "just now" in English; another page language (decision 079) says it its own way ("今", "지금").
  if (abs < 45_000) return locale && !locale.startsWith('en') ? rtf.format(0, 'second') : 'just now'
  if (abs < HOUR) return rtf.format(Math.round(diff / MINUTE), 'minute')
  return rtf.format(Math.round(diff / HOUR), 'hour')
}

/** What the browser shows: relative when recent (date-times only), otherwise the local date and time. */
export function formatLocal(value: Date, options: { style?: TimeStyle; now: Date; locale?: string; timeZone?: string }): string {
  const style = options.style ?? 'datetime'
  if (style === 'datetime') {
    const relative = formatRelative(value, options.now, options.locale)
    if (relative) return relative
  }
  const format = new Intl.DateTimeFormat(options.locale, {
    timeZone: options.timeZone,
    day: 'numeric', month: 'short', year: 'numeric',
    ...(style === 'datetime' ? { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' } : {}),
  })
  return format.format(value)
}

/** "30 days", "1 day", "7 years (2557 days)": one way to write a number of days. */
export function formatDays(days: number): string {
  const plain = `${days.toLocaleString('en-US')} ${days === 1 ? 'day' : 'days'}`
  if (days < 365) return plain
  const years = Math.round(days / 365.25)
  const whole = Math.abs(days - years * 365.25) <= 1
  return `${whole ? '' : 'about '}${years} ${years === 1 ? 'year' : 'years'} (${plain})`
}

