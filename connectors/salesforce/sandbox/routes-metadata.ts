/**
 * The Metadata API's SOAP endpoint `POST /services/Soap/m/{version}` (jsforce `conn.metadata`,
 * `endpointUrl: ${instanceUrl}/services/Soap/m/${version}`), for page layouts: `listMetadata`,
 * `readMetadata` and `updateMetadata` of `Layout` (layouts.ts holds them and their checks).
 *
 * As Salesforce answers:
 * - The session is the SOAP header's `SessionHeader/sessionId`; a missing or expired one is a 500
 *   fault `sf:INVALID_SESSION_ID`, on which jsforce refreshes and retries (soap.ts).
 * - A Metadata API call needs "Modify Metadata Through Metadata API Functions" or "Modify All
 *   Data" ("Your client application must be logged in with the Modify Metadata Through Metadata API
 *   Functions or Modify All Data permission" [C https://developer.salesforce.com/docs/platform/api-metadata/references/crud-based-calls/meta-updatemetadata.html]);
 *   without it, a fault `sf:INSUFFICIENT_ACCESS` [S the message of real orgs].
 * - `readMetadata` and `updateMetadata` take at most 10 components per call [C Metadata API
 *   Developer Guide, readMetadata() and updateMetadata(): "Limit: 10"]; `readMetadata` of a name
 *   that does not exist answers an empty record (no `fullName`) [S certinia/apex-mdapi#142,
 *   forcedotcom/cli#1917]; `updateMetadata` answers one SaveResult per component, saving the
 *   valid ones (AllOrNoneHeader false, the default since API 34.0 [C]).
 * - Each call is an API call: counted, and refused once the daily allocation is spent.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { SandboxMonitor } from '../../sandbox/common.js';
import { countCallsAndInjectFaults } from '../../sandbox/common.js';
import type { SandboxContext } from './context.js';
import { MAX_VERSION, MIN_VERSION, param } from './context.js';
import { checkLayout, layoutBody, layoutRecord } from './layouts.js';
import { XmlError, child, childrenNamed, element, parseXml, soapEnvelope, soapFault, textOf } from './soap.js';
import type { XmlNode } from './soap.js';
import { INTEGRATION_USER } from './store.js';
import { formatDateTime } from './values.js';

/** readMetadata and updateMetadata: "Limit: 10" components per call. */
const MAX_COMPONENTS = 10;

function fault(res: Response, code: string, message: string, prefix = 'sf'): void {
  res.status(500).type('text/xml; charset=UTF-8').send(soapFault(code, message, prefix));
}

function answer(res: Response, body: XmlNode): void {
  res.status(200).type('text/xml; charset=UTF-8').send(soapEnvelope(body));
}

export function metadataRouter(ctx: SandboxContext, monitor: SandboxMonitor): Router {
  const router = express.Router({ mergeParams: true });
  const { store } = ctx;

  // The session comes with the body: it is read before the call is counted (Salesforce counts
  // only authenticated calls).
  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    const version = /^(\d+)\.0$/.exec(param(req, 'version'));
    if (!version || Number(version[1]) < MIN_VERSION || Number(version[1]) > MAX_VERSION) {
      fault(res, 'UNSUPPORTED_API_VERSION', `Invalid Api version specified on URL: ${param(req, 'version')}`);
      return;
    }
    let envelope: XmlNode;
    try {
      envelope = parseXml(typeof req.body === 'string' ? req.body : '');
    } catch (err) {
      fault(res, 'Client', `Error parsing the request: ${err instanceof XmlError ? err.message : 'not XML'}`, 'soapenv');
      return;
    }
    const sessionId = textOf(child(child(envelope, 'Header'), 'SessionHeader'), 'sessionId');
    const userId = sessionId ? ctx.auth.authenticate(sessionId) : null;
    if (!userId) {
      fault(res, 'INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session');
      return;
    }
    res.locals.userId = userId;
    res.locals.call = child(envelope, 'Body')?.children[0];
    next();
  };

  const limit = (_req: Request, res: Response, next: NextFunction): void => {
    if (!ctx.usage.tryConsume()) {
      fault(res, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      return;
    }
    next();
  };

  const listMetadata = (call: XmlNode): XmlNode => {
    const types = childrenNamed(call, 'queries').map((q) => textOf(q, 'type'));
    const results = types.includes('Layout')
      ? [...store.layouts.values()].map((l) =>
          element('result', [
            element('createdById', INTEGRATION_USER.Id),
            element('createdByName', `${INTEGRATION_USER.FirstName} ${INTEGRATION_USER.LastName}`),
            element('createdDate', formatDateTime(l.createdDate)),
            element('fileName', `layouts/${l.fullName}.layout`),
            element('fullName', l.fullName),
            element('id', l.id),
            element('lastModifiedById', INTEGRATION_USER.Id),
            element('lastModifiedByName', `${INTEGRATION_USER.FirstName} ${INTEGRATION_USER.LastName}`),
            element('lastModifiedDate', formatDateTime(l.lastModifiedDate)),
            element('manageableState', 'unmanaged'),
            element('type', 'Layout'),
          ]),
        )
      : [];
    return element('listMetadataResponse', results);
  };

  const readMetadata = (call: XmlNode): XmlNode => {
    const names = childrenNamed(call, 'fullNames').map((n) => n.text.trim());
    const records = names.map((name) => {
      const layout = store.layouts.get(name);
      return layout ? layoutRecord(layout) : element('records', '', { 'xsi:nil': 'true' });
    });
    return element('readMetadataResponse', [element('result', records)]);
  };

  const updateMetadata = (call: XmlNode): XmlNode => {
    const results = childrenNamed(call, 'metadata').map((metadata) => {
      const fullName = textOf(metadata, 'fullName') ?? '';
      const body = layoutBody(metadata);
      const errors = checkLayout(store, fullName, body);
      const stored = store.layouts.get(fullName);
      if (errors.length === 0 && stored) {
        stored.body = body;
        stored.lastModifiedDate = store.stampNow();
      }
      const errorNodes = errors.map((e) =>
        element('errors', [...e.fields.map((f) => element('fields', f)), element('message', e.message), element('statusCode', e.statusCode)]),
      );
      return element('result', [...errorNodes, element('fullName', fullName), element('success', String(errors.length === 0))]);
    });
    return element('updateMetadataResponse', results);
  };

  const handle = (_req: Request, res: Response): void => {
    const call = res.locals.call as XmlNode | undefined;
    const userId = String(res.locals.userId);
    if (!ctx.security.holds(userId, 'PermissionsModifyAllData') && !ctx.security.holds(userId, 'PermissionsModifyMetadata')) {
      fault(res, 'INSUFFICIENT_ACCESS', 'use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permission');
      return;
    }
    if (!call) {
      fault(res, 'Client', 'No operation in the request body', 'soapenv');
      return;
    }
    const type = call.name === 'listMetadata' ? 'Layout' : call.name === 'readMetadata' ? textOf(call, 'type') : childrenNamed(call, 'metadata')[0]?.attrs['xsi:type'];
    if (['readMetadata', 'updateMetadata'].includes(call.name)) {
      const count = call.name === 'readMetadata' ? childrenNamed(call, 'fullNames').length : childrenNamed(call, 'metadata').length;
      if (count > MAX_COMPONENTS) {
        fault(res, 'LIMIT_EXCEEDED', `${call.name}: at most ${MAX_COMPONENTS} components per call, got ${count}`);
        return;
      }
      if (type !== 'Layout') {
        fault(res, 'INVALID_TYPE', `The sandbox's Metadata API serves Layout only, not ${type ?? '(no type)'}`);
        return;
      }
    }
    switch (call.name) {
      case 'listMetadata':
        return answer(res, listMetadata(call));
      case 'readMetadata':
        return answer(res, readMetadata(call));
      case 'updateMetadata':
        return answer(res, updateMetadata(call));
      default:
        fault(res, 'Client', `No operation available for request {http://soap.sforce.com/2006/04/metadata}${call.name}`, 'soapenv');
    }
  };

  router.post(
    '/',
    express.text({ type: () => true, limit: '10mb' }),
    authenticate,
    countCallsAndInjectFaults(monitor, {
      rateLimited: (res) => fault(res, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
      serverError: (res) => fault(res, 'SERVER_UNAVAILABLE', 'Server is temporarily unavailable. Please try again later.'),
    }),
    limit,
    handle,
  );
  return router;
}
