import type { TFunction } from 'i18next'

/**
 * A region's display name in the page's language (decision 079): the configured name (config,
 * REGION_NAMES) on an English page, the catalog's `regionNames.<code>` on a Japanese or Korean one.
 * The code is never translated; a region the catalog does not know keeps its configured name.
 */
export function regionName(t: TFunction, language: string, region: { code: string; name: string }): string {
  if (language === 'en') return region.name
  return t(`regionNames.${region.code}`, { ns: 'pages', defaultValue: region.name }) as string
}
