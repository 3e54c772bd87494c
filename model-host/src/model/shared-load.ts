// Loading a model is slow and may fail for a reason that goes away (a worker killed mid-load, a
// file being written). Both engines load the same way: callers during a load share it, a finished
// load is kept, and a failed one is forgotten so that the next call starts again.

export class SharedLoad<T> {
  private current: Promise<T> | undefined;

  constructor(private readonly start: () => Promise<T>) {}

  /** The load in progress or done, or a new one. */
  get(): Promise<T> {
    if (!this.current) {
      const load = this.start();
      this.current = load;
      load.catch(() => {
        if (this.current === load) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Forgets the load (the engine was disposed, or what it loaded is gone): the next get() loads again. */
  reset(): void {
    this.current = undefined;
  }
}
