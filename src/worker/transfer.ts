/**
 * A transfer list for `postMessage` with each buffer once: arrays of one message may view the same
 * buffer (e.g. the cpu backend's contiguous slices of a merged batch), and a repeated buffer makes
 * `postMessage` throw "Transfer list contains duplicate ArrayBuffer".
 */
export function distinctBuffers(buffers: readonly ArrayBuffer[]): ArrayBuffer[] {
  return [...new Set(buffers)];
}
