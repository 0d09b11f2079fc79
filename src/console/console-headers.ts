import type { NextFunction, Request, Response } from 'express';

/**
 * Headers of the console's pages and answers (docs/operator-guide.md "Safety"): never cached, never
 * framed, and a CSP that runs only the console's own files — no inline script or style, no other
 * origin except WeChat's QR image host for the login code.
 */
export function consoleCsp(imageOrigins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${imageOrigins.join(' ')}`.trim(),
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function setConsoleHeaders(res: Response, csp: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/** The origin of a URL, or nothing when it is our own (relative or same host is covered by 'self'). */
export function originOf(url: string): string[] {
  try {
    return [new URL(url).origin];
  } catch {
    return [];
  }
}

export function consoleHeaders(csp: string) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    setConsoleHeaders(res, csp);
    next();
  };
}
