/** The CrmError a connector call fails with; any other outcome fails the test. */
import { CrmError } from '../../connectors/errors.js';

export async function crmFailure(promise: Promise<unknown>): Promise<CrmError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CrmError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
