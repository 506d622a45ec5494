/**
 * The few DOM types Rampart reads SAML with, and @xmldom/xmldom's parser loaded under them.
 * (The package's own typings pull the browser's DOM library into the whole program, which
 * changes Node's `fetch` types everywhere; these interfaces are the part of the DOM we use.)
 */
import { createRequire } from 'node:module';

export interface XmlNode {
  readonly nodeType: number;
  readonly nodeValue: string | null;
  readonly textContent: string | null;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
  readonly parentNode: XmlNode | null;
  readonly childNodes: ArrayLike<XmlNode>;
}

export interface XmlElement extends XmlNode {
  readonly namespaceURI: string | null;
  readonly localName: string;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(ns: string, local: string): ArrayLike<XmlElement>;
}

export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
  getElementsByTagNameNS(ns: string, local: string): ArrayLike<XmlElement>;
}

interface ParserOptions {
  readonly locator?: object;
  readonly errorHandler?: {
    readonly warning?: (message: string) => void;
    readonly error?: (message: string) => void;
    readonly fatalError?: (message: string) => void;
  };
}

interface XmldomModule {
  readonly DOMParser: new (options?: ParserOptions) => { parseFromString(source: string, mimeType: string): XmlDocument | undefined };
}

const xmldom = createRequire(import.meta.url)('@xmldom/xmldom') as XmldomModule;
export const DOMParser = xmldom.DOMParser;

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;
