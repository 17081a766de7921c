/**
 * What a person recognises a browser by: "Chrome on iOS", from its User-Agent, parsed by `bowser`
 * (decision 061), never by hand. One function for every list that shows a browser: the active
 * sessions and the remembered devices.
 */
import Bowser from 'bowser'

export type BrowserLabel = {
  /** The browser with its major version, e.g. "Chrome 124"; "Unknown browser" when unparsed. */
  browser: string
  /** The system with its version, e.g. "iOS 17.4" or "Windows 10"; "unknown system" when unparsed. */
  system: string
  /** The short name without versions, e.g. "Chrome on iOS" (stored with a remembered device, so it does not age). */
  label: string
}

/** Bowser's names where a shorter one is what people say. */
const SHORT_NAMES: Record<string, string> = { 'Microsoft Edge': 'Edge', 'Samsung Internet for Android': 'Samsung Internet' }

export function browserLabel(userAgent: string | null | undefined): BrowserLabel {
  const parsed = userAgent ? Bowser.parse(userAgent.slice(0, 512)) : null
  const name = parsed?.browser.name ? (SHORT_NAMES[parsed.browser.name] ?? parsed.browser.name) : ''
  const major = parsed?.browser.version?.split('.')[0] ?? ''
  const os = parsed?.os.name ?? ''
  const osVersion = parsed?.os.versionName ?? parsed?.os.version ?? ''
  return {
    browser: name ? [name, major].filter(Boolean).join(' ') : 'Unknown browser',
    system: os ? [os, osVersion].filter(Boolean).join(' ') : 'unknown system',
    label: `${name || 'Unknown browser'} on ${os || 'unknown system'}`,
  }
}
