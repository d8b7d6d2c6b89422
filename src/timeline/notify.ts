/**
 * Change notifications leave the call stack that caused them: an ingest call updates the timeline
 * and returns; what waits on it (held requests, readers of growing bodies) runs right after, in a
 * microtask, in the order the changes happened. No HTTP write ever runs inside an ingest call.
 */
export interface Deliverable {
  deliver(): void;
}

let queue: Deliverable[] = [];
let armed = false;
let onFault: (err: unknown) => void = () => {};

/** Where an exception thrown while delivering goes (the edge logs and counts it). */
export function setDeliveryFaultHandler(handler: (err: unknown) => void): void {
  onFault = handler;
}

/** Reports an exception that escaped a listener: delivery goes on for everyone else. */
export function deliveryFault(err: unknown): void {
  try {
    onFault(err);
  } catch {
    // A failing fault handler must not stop delivery either.
  }
}

/** Queues `target.deliver()` for right after the current call stack (once per target per turn is the caller's business). */
export function later(target: Deliverable): void {
  queue.push(target);
  if (!armed) {
    armed = true;
    queueMicrotask(run);
  }
}

function run(): void {
  // Deliveries may queue more (a reader's end wakes a waiter): they run in this same turn.
  while (queue.length > 0) {
    const batch = queue;
    queue = [];
    for (const target of batch) {
      try {
        target.deliver();
      } catch (err) {
        deliveryFault(err);
      }
    }
  }
  armed = false;
}
