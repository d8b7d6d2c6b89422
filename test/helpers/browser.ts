/// <reference lib="dom" />
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/** Debian's chromium, never a downloaded browser; flags from DEVELOPERS.md. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

const LIBRARIES: Record<string, string> = {
  '/hls.js': 'hls.js/dist/hls.js',
  '/shaka.js': 'shaka-player/dist/shaka-player.compiled.js',
  '/dash.js': 'dashjs/dist/modern/umd/dash.all.min.js',
};

/** A page origin (another port than the media origin, so CORS is exercised) serving the player libraries. */
export async function startPageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const lib = LIBRARIES[req.url ?? ''];
    if (lib) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(readFileSync(NODE_MODULES + lib));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><html><body><video id="v" muted playsinline width="320" height="180"></video></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface PlaybackSample {
  readonly t: number;
  readonly currentTime: number;
  readonly latency: number | null;
  readonly buffered: number;
  readonly paused: boolean;
}

export interface PlayerReport {
  readonly samples: PlaybackSample[];
  readonly errors: { fatal: boolean; details: string }[];
  readonly requests: string[];
}

/** Samples a page's player once a second for `seconds`. The page defines window.__sample(). */
export async function sample(page: Page, seconds: number): Promise<PlaybackSample[]> {
  const samples: PlaybackSample[] = [];
  for (let i = 0; i <= seconds; i++) {
    samples.push(await page.evaluate(() => (window as unknown as { __sample: () => PlaybackSample }).__sample()));
    await page.waitForTimeout(1000);
  }
  return samples;
}

/** The bits of the player globals the test pages use. */
export interface HlsJs {
  on(event: string, cb: (event: unknown, data: { fatal: boolean; details: string }) => void): void;
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  latency: number;
}

export interface PageGlobals {
  Hls: { new (config: object): HlsJs; Events: { ERROR: string } };
  __errors: { fatal: boolean; details: string }[];
  __sample: () => PlaybackSample;
}
