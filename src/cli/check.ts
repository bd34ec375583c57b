/** One finding of `smk doctor`: what was checked, how it stands, and what to do when it is not ok. */
export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}
