// The error of a malformed HTTP reply. Apart from the parser, so that exporting it
// does not load the parser (which stack.fetch loads on first use).

/** A malformed reply: code is llhttp's error name (HPE_INVALID_HEADER_TOKEN, ...). */
export class HttpParserError extends Error {
  readonly code: string;
  constructor(code: string, reason: string) {
    super(`${code}: ${reason}`);
    this.name = 'HttpParserError';
    this.code = code;
  }
}
