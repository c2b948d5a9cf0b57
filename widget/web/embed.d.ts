// Type declarations for scanin's embed.js, served by the relay at
// {relay}/embed.js. embed.js defines the global `Scanin`.

/** Where embed.js keeps a token it receives (client-side session extension). */
export interface ScaninStorage {
  type: "cookie" | "localStorage" | "sessionStorage";
  /** The storage key or cookie name. */
  key: string;
  /** Cookie only: Path (default "/"). */
  path?: string;
  /** Cookie only: Domain (default: none, the page's host only). */
  domain?: string;
  /** Cookie only: Max-Age in seconds (default: a session cookie). */
  maxAge?: number;
  /** Cookie only: Expires. */
  expires?: Date | string | number;
  /** Cookie only: SameSite (default "Lax"). */
  sameSite?: "Strict" | "Lax" | "None";
  /** Cookie only: Secure (default: when the page is https). */
  secure?: boolean;
}

/** The phone that sent a result, as its user would recognise it. */
export interface ScaninDevice {
  name: string;
  /** "android", "ios", "cli", ... */
  type: string;
}

/** What the phone sent, decrypted in the widget. */
export interface ScaninResult {
  kind: "token" | "data" | "assertion";
  data: string;
  device: ScaninDevice | null;
  /** The session id of the code that was scanned (a backend compares it with an assertion's sid). */
  sid: string;
}

/**
 * Server-side mode: where embed.js posts an assertion. It POSTs
 * `{"assertion": "...", "sid": "..."}` as JSON, with the page's cookies,
 * and `result` resolves with the backend's JSON answer.
 */
export interface ScaninExchange {
  /** A URL on the page's own origin (another origin is refused), e.g. "/api/scanin/exchange". */
  url: string;
}

/**
 * What a backend's exchange endpoint answers, as `result` resolves with it
 * (the shape is the backend's; verify.ExchangeHandler answers
 * {ok, sub, device: {id, name, type}}).
 */
export type ScaninExchangeAnswer = any;

/** The widget's states, as onState reports them. */
export type ScaninState = "waiting" | "scanned" | "verifying" | "expired" | "denied" | "error" | "success";

/**
 * The codes embed.js reports for a misconfigured widget, in a
 * scanin:state "error" and in the rejection of `result`. Each comes with a
 * sentence that says what to change.
 */
export type ScaninErrorCode =
  | "app_missing" // no app / data-app
  | "app_invalid" // not an app id
  | "target_not_found" // data-target or mount's selector matches no element
  | "unknown_option" // an option or data-* attribute embed.js does not know
  | "option_invalid" // a value out of range or of the wrong type
  | "app_not_found" // the relay has no such app
  | "origin_not_allowed" // this page's origin is not in the app's origins
  | "relay_unreachable" // the relay could not be reached, or is overloaded
  | "relay_invalid" // the relay URL answers, but not as a scanin relay
  | "csp_blocked" // this page's Content-Security-Policy blocks the relay
  | "load_timeout"; // the widget showed no code within `timeout` seconds

/**
 * What `result` rejects with: a misconfiguration, "destroyed", or
 * "exchange_failed" (server-side mode: the backend refused the assertion,
 * or could not be reached; the message is the backend's, and is shown in
 * the widget's place).
 */
export interface ScaninError extends Error {
  name: "ScaninError";
  code: ScaninErrorCode | "destroyed" | "exchange_failed";
  /** exchange_failed: the backend's error code, e.g. "revoked" ("" when it gave none). */
  error?: string;
  /** exchange_failed: the backend's HTTP status (0 when it could not be reached). */
  status?: number;
}

export interface ScaninStateDetail {
  /** waiting: when the code on screen expires, Unix milliseconds (relay clock). */
  expiresAt?: number;
  /** expired: always true: the widget stopped and shows "Show a new code" (a new code is "waiting" again). */
  final?: boolean;
  /**
   * error: a ScaninErrorCode when embed.js found a misconfiguration (the
   * widget then never shows), else the widget's or the relay's error code,
   * e.g. "unavailable", "origin_denied"; "exchange_failed" when the
   * backend refused an assertion.
   */
  code?: ScaninErrorCode | "exchange_failed" | string;
  /** error, exchange_failed: the backend's error code, e.g. "revoked". */
  error?: string;
  /** error, exchange_failed: the backend's HTTP status (0: not reached). */
  status?: number;
  /** error: what went wrong and what to change. */
  message?: string;
  /** error: the widget keeps trying by itself. */
  retrying?: boolean;
  /** success */
  kind?: ScaninResult["kind"];
  device?: ScaninDevice | null;
}

export interface ScaninOptions {
  /** The app id the relay knows this site by, e.g. "demo". */
  app: string;
  /** The relay's base URL; defaults to where embed.js was loaded from. */
  relay?: string;
  /** Store a received token here. Without it nothing is stored. */
  storage?: ScaninStorage;
  /**
   * Server-side mode: post an assertion to this same-origin endpoint and
   * resolve `result` with its answer. The assertion is never stored.
   * Results of other kinds are handled as without it.
   */
  exchange?: ScaninExchange;
  /** Seconds each code lives (15..300); defaults to the app's ttl. */
  ttl?: number;
  /** Seconds of codes before the widget asks for a click (15..300, default 300). */
  limit?: number;
  /** Show the check code and ask the person to confirm it matches their phone. */
  verify?: boolean;
  /** Force a colour scheme; default follows prefers-color-scheme. */
  theme?: "light" | "dark" | "auto";
  /**
   * Preload the widget's WebAssembly from this page. Default: only when the
   * relay looks like it is on this page's site, the only case in which the
   * browser lets the iframe use what this page downloaded.
   */
  preload?: boolean;
  /** The iframe's title, for assistive technology (default "Sign in with your phone"). */
  title?: string;
  /**
   * Seconds the widget has to show its first code (1..300, default 30);
   * then it fails with load_timeout.
   */
  timeout?: number;
  /** Called once with the result, after it is stored (with exchange: the backend's answer). */
  onResult?: (result: ScaninResult | ScaninExchangeAnswer) => void;
  /** Called on every state change. */
  onState?: (state: ScaninState, detail: ScaninStateDetail) => void;
}

export interface ScaninWidget {
  /**
   * Resolves with the result; rejects with a ScaninError for a
   * misconfiguration, or with code "destroyed" if destroy() comes first.
   */
  result: Promise<ScaninResult>;
  /** The widget's iframe; null once it failed or was destroyed, or if it never had one. */
  readonly iframe: HTMLIFrameElement | null;
  /** Show a fresh code now (and restart the show limit). */
  refresh(): void;
  /** Remove the widget (or its error message). Safe to call more than once. */
  destroy(): void;
}

/** A widget mounted with `exchange` (server-side mode). */
export interface ScaninExchangeWidget extends Omit<ScaninWidget, "result"> {
  /**
   * Resolves with the backend's JSON answer to an assertion (a result of
   * another kind resolves as without exchange); rejects with code
   * "exchange_failed" when the backend refused it or could not be reached,
   * as for ScaninWidget otherwise.
   */
  result: Promise<ScaninExchangeAnswer>;
}

export interface ScaninAPI {
  readonly version: 1;
  /**
   * Put the widget in element (or the first element matching a selector).
   * It does not throw for a misconfiguration: `result` rejects instead.
   */
  mount(element: Element | string, options: ScaninOptions & { exchange: ScaninExchange }): ScaninExchangeWidget;
  mount(element: Element | string, options: ScaninOptions): ScaninWidget;
  /**
   * Whether origin matches one of the patterns, by the relay's rule: an
   * exact origin, or "scheme://host:*" for any port; case-insensitive.
   */
  originAllowed(patterns: readonly string[], origin: string): boolean;
}

declare global {
  interface Window {
    Scanin: ScaninAPI;
  }
  const Scanin: ScaninAPI;
}
