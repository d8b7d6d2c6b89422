import { spawn, type ChildProcess } from 'node:child_process';

export interface FfmpegRun {
  readonly process: ChildProcess;
  /** Resolves with the exit code (or the signal name) once ffmpeg exits. */
  readonly exited: Promise<number | string>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts ffmpeg with the given arguments (`-hide_banner -nostdin -loglevel error` prepended). */
export function ffmpeg(args: readonly string[]): FfmpegRun {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    process: child,
    exited,
    stderr: () => err,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

/** The live test pattern every ingest test pushes: 1 s GOP at 25 fps, 440 Hz beeps. */
export const LIVE_SOURCE = ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:beep_factor=4'];
export const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', '1', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-b:v', '300k'];
export const AAC = ['-c:a', 'aac', '-b:a', '64k'];
export const FRAGMENTED = ['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000'];

/** The README's recommended fragmenting: 200 ms CMAF chunks, each after a prft with the encoder's wall clock. */
export const CHUNKED = [...FRAGMENTED, '-write_prft', 'wallclock'];

/** x264 with B-frames (no zerolatency tune, which turns them off), 25 fps, a keyframe every 2 s. */
export const X264_BFRAMES = ['-c:v', 'libx264', '-preset', 'ultrafast', '-threads', '1', '-pix_fmt', 'yuv420p', '-bf', '2', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-b:v', '300k'];

/**
 * One ffmpeg process pushing the player tests' streams, each output a long chunked PUT as the
 * README recommends (200 ms chunks, prft): `main` (video with a 1 s GOP + 48 kHz AAC), `audioOnly`
 * (the AAC alone) and `bframes` (B-frames, a 2 s GOP, 44.1 kHz AAC).
 */
export function pushPlayerStreams(ingest: string, streams: { main: string; audioOnly: string; bframes: string }, seconds: number): FfmpegRun {
  const put = (path: string): string[] => ['-t', String(seconds), ...CHUNKED, '-method', 'PUT', `${ingest}/live/${path}`];
  return ffmpeg([
    ...LIVE_SOURCE,
    '-map', '0:v', ...X264, ...put(`${streams.main}/video.mp4`),
    '-map', '1:a', ...AAC, ...put(`${streams.main}/audio.mp4`),
    '-map', '1:a', ...AAC, ...put(`${streams.audioOnly}/audio.mp4`),
    '-map', '0:v', ...X264_BFRAMES, ...put(`${streams.bframes}/video.mp4`),
    '-map', '1:a', ...AAC, '-ar', '44100', ...put(`${streams.bframes}/audio.mp4`),
  ]);
}
