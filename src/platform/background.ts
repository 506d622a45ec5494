/**
 * Work that runs after the response: failures are reported, never thrown at the caller. It starts
 * on the next turn of the event loop (`setImmediate`), after the answer has been written, so not
 * even a lookup on the embedded database (which runs on this thread) can delay the answer
 * differently for different inputs.
 */
export class BackgroundWork {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  run(work: () => Promise<void>): void {
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err: unknown) => this.onError(err))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Resolves when the work started so far has finished (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
