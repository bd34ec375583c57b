/** A sandbox clock that stands still unless the test moves it: "within one second" without racing real time. */
import { SandboxClock } from '../../connectors/sandbox/common.js';

export class HeldClock extends SandboxClock {
  constructor(private at: number) {
    super();
  }
  override now(): number {
    return this.at;
  }
  override advance(ms: number): void {
    this.at += ms;
  }
  override set(epochMs: number): void {
    this.at = epochMs;
  }
}
