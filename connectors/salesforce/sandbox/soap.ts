/**
 * The SOAP envelope as the Metadata API exchanges it with jsforce (`api/metadata.js`, `soap.js`):
 * jsforce posts `text/xml` with the session in `Header/SessionHeader/sessionId` and the call as the
 * first element of `Body` (`<readMetadata>`, `<updateMetadata>`, `<listMetadata>`), in the
 * namespace `http://soap.sforce.com/2006/04/metadata`; it reads the answer by the local names
 * `*:Envelope`, `*:Body` and then the first element (`<readMetadataResponse><result>`), and a
 * failure from `*:Fault` (`faultcode`, `faultstring`). A fault whose code ends in
 * `:INVALID_SESSION_ID` with status 500 makes it refresh the session (`soap.js` isSessionExpired).
 *
 * A small XML reader and writer for that subset: elements, attributes, text with the five named
 * entities and numeric references, CDATA; comments and processing instructions are skipped. Names
 * keep no namespace prefix (`soapenv:Body` is `Body`).
 */

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? '';
  });
}

export function encode(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** Parses a document into its root element. */
export function parseXml(text: string): XmlNode {
  const stack: XmlNode[] = [{ name: '#document', attrs: {}, children: [], text: '' }];
  const tag = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  const top = () => stack[stack.length - 1] as XmlNode;
  while ((m = tag.exec(text)) !== null) {
    const between = text.slice(last, m.index);
    if (between.trim() !== '') {
      if (between.includes('<')) throw new XmlError('malformed XML');
      top().text += decode(between);
    }
    last = tag.lastIndex;
    if (m[0].startsWith('<!--') || m[0].startsWith('<?')) continue;
    if (m[1] !== undefined) {
      top().text += m[1];
      continue;
    }
    const [, , closing, qname = '', attrText = '', selfClosing] = m;
    const name = localName(qname);
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name || stack.length === 0) throw new XmlError(`unexpected </${qname}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1] as string] = decode(a[2] ?? a[3] ?? '');
    const node: XmlNode = { name, attrs, children: [], text: '' };
    top().children.push(node);
    if (!selfClosing) stack.push(node);
  }
  if (text.slice(last).trim() !== '' || stack.length !== 1) throw new XmlError('malformed XML: unclosed element');
  const root = (stack[0] as XmlNode).children[0];
  if (!root) throw new XmlError('empty XML document');
  return root;
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return node?.children.find((c) => c.name === name);
}

export function childrenNamed(node: XmlNode | undefined, name: string): XmlNode[] {
  return node?.children.filter((c) => c.name === name) ?? [];
}

/** The trimmed text of a child element, or undefined when it is absent or xsi:nil. */
export function textOf(node: XmlNode | undefined, name: string): string | undefined {
  const c = child(node, name);
  if (!c || c.attrs['xsi:nil'] === 'true') return undefined;
  return c.text.trim();
}

/** Writes an element; attributes are written as given, text is escaped. */
export function writeXml(node: XmlNode): string {
  const attrs = Object.entries(node.attrs).map(([k, v]) => ` ${k}="${encode(v)}"`).join('');
  const inner = node.children.length > 0 ? node.children.map(writeXml).join('') : encode(node.text);
  return inner === '' ? `<${node.name}${attrs}/>` : `<${node.name}${attrs}>${inner}</${node.name}>`;
}

export function element(name: string, content: string | XmlNode[] = '', attrs: Record<string, string> = {}): XmlNode {
  return typeof content === 'string' ? { name, attrs, children: [], text: content } : { name, attrs, children: content, text: '' };
}

const METADATA_NS = 'http://soap.sforce.com/2006/04/metadata';

/** A response envelope around one body element, with the prefixes jsforce looks for. */
export function soapEnvelope(body: XmlNode): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="${METADATA_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`,
    `<soapenv:Body>${writeXml(body)}</soapenv:Body>`,
    '</soapenv:Envelope>',
  ].join('');
}

/** A SOAP fault: `sf:CODE` with the message Salesforce prefixes with the code. */
export function soapFault(code: string, message: string, faultPrefix = 'sf'): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="http://soap.sforce.com/2006/04/metadata">',
    '<soapenv:Body><soapenv:Fault>',
    `<faultcode>${faultPrefix}:${encode(code)}</faultcode><faultstring>${encode(faultPrefix === 'sf' ? `${code}: ${message}` : message)}</faultstring>`,
    '</soapenv:Fault></soapenv:Body></soapenv:Envelope>',
  ].join('');
}
