/**
 * Common free-mail (personal) email domains. A fit rule `{ freemail: true }` uses it to tell a
 * personal address from a company one; `scoring.freemailDomains` in config adds more.
 */

export const FREEMAIL_DOMAINS: readonly string[] = [
  // Google, Microsoft, Apple, Yahoo, AOL: the large international providers.
  'gmail.com', 'googlemail.com',
  'outlook.com', 'outlook.de', 'outlook.fr', 'hotmail.com', 'hotmail.co.uk', 'hotmail.fr', 'hotmail.de',
  'hotmail.it', 'hotmail.es', 'live.com', 'live.co.uk', 'live.fr', 'msn.com',
  'icloud.com', 'me.com', 'mac.com',
  'yahoo.com', 'yahoo.co.uk', 'yahoo.fr', 'yahoo.de', 'yahoo.es', 'yahoo.it', 'yahoo.co.jp', 'yahoo.com.br',
  'yahoo.co.in', 'ymail.com', 'rocketmail.com',
  'aol.com', 'aim.com',
  // Privacy-focused and independent providers.
  'proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me', 'tutanota.com', 'tuta.io', 'fastmail.com',
  'hey.com', 'zoho.com', 'zohomail.com', 'mail.com', 'email.com', 'inbox.com', 'gmx.com', 'gmx.net',
  // Regional providers (Europe, Russia, Asia, Latin America).
  'gmx.de', 'gmx.at', 'gmx.ch', 'web.de', 't-online.de', 'freenet.de', 'orange.fr', 'wanadoo.fr', 'free.fr',
  'laposte.net', 'sfr.fr', 'libero.it', 'virgilio.it', 'seznam.cz', 'wp.pl', 'o2.pl', 'interia.pl',
  'mail.ru', 'bk.ru', 'list.ru', 'inbox.ru', 'yandex.ru', 'yandex.com', 'ya.ru', 'rambler.ru',
  'qq.com', '163.com', '126.com', 'sina.com', 'naver.com', 'daum.net', 'hanmail.net', 'rediffmail.com',
  'bol.com.br', 'uol.com.br', 'terra.com.br',
];

const BUILT_IN: ReadonlySet<string> = new Set(FREEMAIL_DOMAINS);

/** The domain of an email address, or the value itself when it is already a domain. */
export function emailDomain(value: string): string {
  const at = value.lastIndexOf('@');
  let domain = (at >= 0 ? value.slice(at + 1) : value).trim().toLowerCase();
  if (domain.startsWith('www.')) domain = domain.slice(4);
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  return domain;
}

/** True for an address (or domain) at a free-mail provider, built-in or added by config. */
export function isFreemail(value: string, extra?: ReadonlySet<string>): boolean {
  const domain = emailDomain(value);
  if (domain === '') return false;
  return BUILT_IN.has(domain) || (extra !== undefined && extra.has(domain));
}
