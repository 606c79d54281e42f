/**
 * Process-level settings of a proxy worker, applied once at start before any listener opens.
 * Kept apart from the data path: nothing here runs per request.
 */

/**
 * Stops glibc from handing the heap top back to the kernel after every garbage collection.
 *
 * Every socket read allocates a 64 KB buffer with malloc (libuv's suggested size); a garbage
 * collection frees hundreds of them at once, the free top of the heap exceeds glibc's default
 * trim threshold (128 KB) and is returned with brk(), and the next reads fault the same pages
 * back in, zeroed. Measured on 64 KB responses: ~15 page faults per request, 9 % of a worker's
 * CPU. Freeing one large mmap()ed block raises glibc's dynamic thresholds (mmap threshold = its
 * size, trim threshold = twice that), the documented behaviour of free() for mmapped chunks, so
 * the worker keeps up to `2 × bytes` of free heap instead of churning it. On another libc this is
 * one short-lived allocation and nothing else.
 */
export function raiseMallocTrimThreshold(bytes = 8 * 1024 * 1024): void {
  // allocUnsafeSlow: its own backing store from malloc (mmapped at this size), not the pool
  let block: Buffer | undefined = Buffer.allocUnsafeSlow(bytes);
  block[0] = 1;
  block = undefined;
  void block;
}
