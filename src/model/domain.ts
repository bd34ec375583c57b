/**
 * Web domains as both CRMs hold them: Salesforce Website is free text (`https://www.Acme.com/about`,
 * `acme.com`), HubSpot keeps `domain` and `website`. Compared by host, lower-cased, without `www.`.
 */

/** `https://www.Acme.com/about` -> `acme.com`; null for anything without a dotted host. */
export function websiteDomain(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const raw = value.trim();
  if (raw === '') return null;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  try {
    const host = new URL(withScheme).hostname.toLowerCase().replace(/^www\./, '').replace(/\.$/, '');
    return host.includes('.') ? host : null;
  } catch {
    return null;
  }
}

/** The domain and each parent with at least two labels: `eu.sales.acme.com` -> itself, `sales.acme.com`, `acme.com`. */
export function domainAndParents(domain: string): string[] {
  const labels = domain.split('.');
  const out: string[] = [];
  for (let i = 0; i <= labels.length - 2; i += 1) out.push(labels.slice(i).join('.'));
  return out;
}
