import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { formatLocal, formatUtc, type TimeStyle } from './time-format.ts'

/**
 * One way to show a time (decision 073). The server and the browser's first render write the same UTC
 * text, so hydration matches; an effect then rewrites it in the reader's own time zone through Intl
 * ("3 minutes ago" when recent). The exact ISO time is in `title` and `dateTime`.
 */
export function Time({ value, style = 'datetime', empty = '—' }: { value: string | Date | null | undefined; style?: TimeStyle; empty?: string }) {
  const date = value == null ? null : new Date(value)
  const iso = date && !Number.isNaN(date.getTime()) ? date.toISOString() : null
  const [local, setLocal] = useState<string | null>(null)
  // On a Japanese or Korean page, local times in that language; on English pages, the browser's own locale.
  const language = useTranslation().i18n.language
  const locale = language && language !== 'en' ? language : undefined
  useEffect(() => {
    if (!iso) return
    const show = () => setLocal(formatLocal(new Date(iso), { style, now: new Date(), locale }))
    show()
    // A relative time ("3 minutes ago") would go stale on a page left open.
    const timer = style === 'datetime' ? setInterval(show, 60_000) : undefined
    return () => clearInterval(timer)
  }, [iso, style, locale])
  if (!iso) return <>{empty}</>
  return (
    <time dateTime={iso} title={iso} data-local={local ? 'true' : undefined}>
      {local ?? formatUtc(new Date(iso), style)}
    </time>
  )
}
