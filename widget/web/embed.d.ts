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
}

/** The widget's states, as onState reports them. */
export type ScaninState = "waiting" | "scanned" | "expired" | "denied" | "error" | "success";

export interface ScaninStateDetail {
  /** waiting: when the code on screen expires, Unix milliseconds (relay clock). */
  expiresAt?: number;
  /** expired: true when the widget stopped and shows "Show a new code". */
  final?: boolean;
  /** error: the relay's error code, e.g. "unavailable", "origin_denied". */
  code?: string;
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
  /** The iframe's title, for assistive technology. */
  title?: string;
  /** Called once with the result, after it is stored. */
  onResult?: (result: ScaninResult) => void;
  /** Called on every state change. */
  onState?: (state: ScaninState, detail: ScaninStateDetail) => void;
}

export interface ScaninWidget {
  /** Resolves with the result; rejects if destroy() comes first. */
  result: Promise<ScaninResult>;
  /** The widget's iframe. */
  iframe: HTMLIFrameElement;
  /** Show a fresh code now (and restart the show limit). */
  refresh(): void;
  /** Remove the widget. */
  destroy(): void;
}

export interface ScaninAPI {
  readonly version: 1;
  /** Put the widget in element (or the first element matching a selector). */
  mount(element: Element | string, options: ScaninOptions): ScaninWidget;
}

declare global {
  interface Window {
    Scanin: ScaninAPI;
  }
  const Scanin: ScaninAPI;
}
