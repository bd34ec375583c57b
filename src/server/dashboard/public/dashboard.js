/* global window, document, fetch, setTimeout, clearTimeout, URLSearchParams, location */
/**
 * The dashboard: fetches the admin API every few seconds and renders it, so the page fills while a
 * sync runs. The session cookie authenticates; writes carry the header the API asks of cookie
 * callers. Text goes in through textContent only: sources, reasons and messages come from CRMs.
 */
(function () {
  'use strict';
  const REFRESH_MS = 4000;
  const WRITE_HEADERS = { 'X-SMK-Requested-With': 'dashboard', 'Content-Type': 'application/json' };
  const Charts = window.SmkCharts;
  const numberFormat = new Intl.NumberFormat('en-US');
  const state = { breakdown: 'source', period: { period: 'month' }, funnel: null, timer: null, busy: false, again: false, errorFilter: null, expanded: {} };
  /**
   * How many rows a table shows before its "Show all" button (what is left out is said, never
   * hidden below the card's edge), and the noun its rows are counted in.
   */
  const TABLES = {
    'funnel-breakdown': { first: 12, noun: 'rows' },
    'trend-table': { first: Infinity, noun: 'periods' },
    'sla-owners': { first: 10, noun: 'owners' },
    'fb-sources': { first: 8, noun: 'sources' },
    'queue-table': { first: Infinity, noun: 'queues' },
    'error-table': { first: 25, noun: 'errors' },
    'calibration-table': { first: Infinity, noun: 'deciles' },
    'band-table': { first: Infinity, noun: 'bands' },
    'model-versions': { first: 5, noun: 'versions' },
  };

  const $ = (id) => document.getElementById(id);
  const num = (n) => (typeof n === 'number' ? numberFormat.format(n) : '–');
  const pct = (r) => (typeof r === 'number' ? `${Math.round(r * 1000) / 10}%` : '–');
  const money = (n) => (typeof n === 'number' ? numberFormat.format(Math.round(n)) : '–');
  const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;

  function duration(ms) {
    if (typeof ms !== 'number') return '–';
    const minutes = Math.round(ms / 60000);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
    return `${Math.round(hours / 24)} days`;
  }

  function ago(iso) {
    if (!iso) return 'never';
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return `${Math.max(0, s)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return new Date(iso).toLocaleString();
  }

  function setText(id, value) {
    const node = $(id);
    if (node) node.textContent = value;
  }

  function td(value, className) {
    const cell = document.createElement('td');
    cell.textContent = value;
    if (className) cell.className = className;
    return cell;
  }

  function th(value) {
    const cell = document.createElement('th');
    cell.scope = 'row';
    cell.textContent = value;
    return cell;
  }

  /**
   * Fills a table with its first rows (TABLES) and, when there are more, says how many and offers
   * them all; `total` is the count behind the rows when the API sent only some (the error list).
   */
  function fillTable(tableId, rows, build, total) {
    const table = $(tableId);
    const spec = TABLES[tableId] || { first: Infinity, noun: 'rows' };
    const shown = state.expanded[tableId] ? rows : rows.slice(0, spec.first);
    table.querySelector('tbody').replaceChildren(...shown.map((r) => {
      const tr = document.createElement('tr');
      build(r, tr);
      return tr;
    }));
    const wrap = table.closest('.table-wrap') || table;
    let more = $(`${tableId}-more`);
    const all = typeof total === 'number' ? total : rows.length;
    if (rows.length <= spec.first && all <= rows.length) {
      if (more) more.remove();
      return;
    }
    if (!more) {
      more = document.createElement('p');
      more.id = `${tableId}-more`;
      more.className = 'table-more';
      wrap.after(more);
    }
    const note = document.createElement('span');
    note.textContent = `Showing ${num(shown.length)} of ${num(all)} ${spec.noun}`;
    const parts = [note];
    if (rows.length > spec.first) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link-button';
      button.textContent = state.expanded[tableId] ? `Show the first ${spec.first} ${spec.noun}` : `Show all ${num(rows.length)} ${spec.noun}`;
      button.addEventListener('click', () => {
        state.expanded[tableId] = !state.expanded[tableId];
        fillTable(tableId, rows, build, total);
      });
      parts.push(button);
    }
    if (all > rows.length) {
      const csv = document.createElement('span');
      csv.textContent = `(the newest ${num(rows.length)} are listed here; the CSV has them all)`;
      parts.push(csv);
    }
    more.replaceChildren(...parts.flatMap((p, i) => (i === 0 ? [p] : [document.createTextNode(' · '), p])));
  }

  function place(containerId, node) {
    $(containerId).replaceChildren(node);
  }

  function notify(message, kind) {
    const box = $('notice');
    box.textContent = message;
    box.className = `notice ${kind || ''}`;
    box.hidden = false;
  }

  async function api(path, init) {
    const res = await fetch(path, Object.assign({ credentials: 'same-origin' }, init || {}));
    if (res.status === 401) {
      // The session ended: the page itself shows the login form.
      location.reload();
      throw new Error('signed out');
    }
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
    if (!res.ok) {
      // A refused query names each bad parameter in `problems`: say those, not just "invalid query".
      const problems = body && Array.isArray(body.problems) ? body.problems.join('; ') : '';
      throw new Error(problems || (body && body.error) || `HTTP ${res.status}`);
    }
    return body;
  }

  /** The funnel's query: the period picked (week, month, quarter) or a range of dates. */
  function funnelPath() {
    return `/api/reports/funnel?${new URLSearchParams(state.period).toString()}`;
  }

  const STEP_COLORS = ['#5b6b8c', '#2f6fde', '#2458b8', '#6a3fc7', '#0f7b8a', '#1f7a3d'];

  function renderFunnel(funnel) {
    state.funnel = funnel;
    setText('funnel-period', `· ${funnel.label}`);
    setText('period-dates', funnel.period === 'custom' ? '' : `${funnel.from} to ${funnel.to}`);
    // The date fields show the period on screen, unless the admin is typing in them.
    if (!$('period-form').contains(document.activeElement)) {
      $('period-from').value = funnel.from;
      $('period-to').value = funnel.to;
    }
    renderTarget(funnel.mqlTarget, funnel.label);
    const items = funnel.steps.map((s, i) => {
      const next = funnel.steps[i + 1];
      const notes = [];
      if (next && s.conversion !== null) notes.push(`${pct(s.conversion)} to ${next.label}`);
      if (s.medianDays !== null) notes.push(`${s.medianDays} d`);
      return { key: s.stage, label: s.label, value: s.count, color: STEP_COLORS[i], note: notes.join(' · ') };
    });
    place('funnel-chart', Charts.barChart(items, { summary: `Funnel, ${funnel.label}`, format: num, width: 680, labelWidth: 110, valueWidth: 230 }));
    const r = funnel.revenue;
    setText('revenue-pipeline', money(r.pipeline));
    setText('revenue-pipeline-n', plural(r.pipelineDeals, 'open opportunity', 'open opportunities'));
    setText('revenue-won', money(r.won));
    setText('revenue-won-n', plural(r.wonDeals, 'deal', 'deals'));
    renderBreakdown();
    renderTrend(funnel);
  }

  /** Marketing's MQL target for the period on screen: where it stands and whether the pace holds. */
  function renderTarget(t, label) {
    const box = $('mql-target');
    if (!t) return;
    if (t.target === null) {
      box.className = 'target none';
      box.textContent = `MQL target for ${label}: none set (${num(t.actual)} MQLs). Set targets.mqlPerMonth in smarketing.yaml.`;
      return;
    }
    const pace = t.pace === 'on-track' ? 'on track' : `behind by ${num(t.behindBy)}`;
    box.className = `target ${t.pace}`;
    box.textContent = `MQL target for ${label}: ${num(t.actual)} of ${num(t.target)} · ${pace} (${num(t.expectedByNow)} expected by now; ${num(t.projected)} projected)`;
  }

  function renderBreakdown() {
    if (!state.funnel) return;
    const rows = state.breakdown === 'source' ? state.funnel.bySource : state.funnel.byCampaign;
    setText('breakdown-name', state.breakdown);
    fillTable('funnel-breakdown', rows, (r, tr) => {
      const c = r.counts;
      tr.append(th(r.key), td(num(c.lead), 'num'), td(num(c.mql), 'num'), td(num(c.sal), 'num'), td(num(c.sql), 'num'), td(num(c.opportunity), 'num'), td(num(c.won), 'num'), td(money(r.revenue.pipeline), 'num'), td(money(r.revenue.won), 'num'));
    });
  }

  /** The last periods: leads, MQLs, SQLs and wins as lines, with revenue in the table below. */
  function renderTrend(funnel) {
    const noun = { week: 'weeks', month: 'months', quarter: 'quarters', custom: 'ranges' }[funnel.period];
    setText('trend-span', `· last ${funnel.trend.length} ${noun}`);
    // Short names under the chart: a custom range by its first day (the table has both).
    const labels = funnel.trend.map((p) => (funnel.period === 'custom' ? p.from : p.label.replace(/^week of /, '')));
    const series = [
      { key: 'lead', label: 'Leads', color: STEP_COLORS[0] },
      { key: 'mql', label: 'MQLs', color: STEP_COLORS[1] },
      { key: 'sql', label: 'SQLs', color: STEP_COLORS[3] },
      { key: 'won', label: 'Won', color: STEP_COLORS[5] },
    ].map((s) => Object.assign(s, { values: funnel.trend.map((p) => p.counts[s.key]) }));
    place('trend-chart', Charts.lineChart(series, labels, { summary: 'Funnel trend', format: num }));
    fillTable('trend-table', funnel.trend.slice().reverse(), (p, tr) => {
      tr.append(th(p.label), td(num(p.counts.lead), 'num'), td(num(p.counts.mql), 'num'), td(num(p.counts.sql), 'num'), td(num(p.counts.won), 'num'), td(money(p.revenue.pipeline), 'num'), td(money(p.revenue.won), 'num'));
    });
  }

  function renderSla(sla) {
    const segments = [
      { key: 'met', label: 'Met', value: sla.met, color: '#1f7a3d' },
      { key: 'breached', label: 'Breached', value: sla.breached, color: '#b42318' },
      { key: 'running', label: 'Running', value: sla.running, color: '#a15c07' },
    ];
    place('sla-chart', Charts.donut(segments, { summary: 'SLA outcomes', centre: { big: pct(sla.compliance), small: 'compliance' } }));
    setText('sla-compliance', pct(sla.compliance));
    setText('sla-median', duration(sla.medianFirstTouchMs));
    setText('sla-met', num(sla.met));
    setText('sla-breached', num(sla.breached));
    setText('sla-running', num(sla.running));
    fillTable('sla-owners', sla.byOwner, (r, tr) => {
      tr.append(th(r.ownerName || r.ownerId), td(num(r.met), 'num'), td(num(r.breached), 'num'), td(num(r.running), 'num'), td(pct(r.compliance), 'num'), td(duration(r.medianFirstTouchMs), 'num wrap'));
    });
  }

  function renderFeedback(fb) {
    setText('fb-accept', pct(fb.acceptRate));
    setText('fb-accept-n', `${num(fb.accepted)} leads`);
    setText('fb-reject', pct(fb.rejectRate));
    setText('fb-reject-n', `${num(fb.rejected)} leads`);
    setText('fb-pending', num(fb.pending));
    setText('fb-quality', fb.averageQuality === null ? '–' : String(fb.averageQuality));
    const reasons = fb.reasons.slice(0, 6).map((r, i) => ({ key: `reason-${i}`, label: r.reason, value: r.count }));
    place('reasons-chart', Charts.barChart(reasons, { summary: 'Reject reasons', format: num, width: 560, labelWidth: 190, valueWidth: 60, barHeight: 20, gap: 8, color: '#b42318', empty: 'No rejections yet' }));
    fillTable('fb-sources', fb.bySource, (r, tr) => {
      tr.append(th(r.source), td(num(r.handedOff), 'num'), td(pct(r.acceptRate), 'num'), td(pct(r.rejectRate), 'num'), td(r.reasons[0] ? r.reasons[0].reason : '–'));
    });
  }

  const auc = (x) => (typeof x === 'number' ? x.toFixed(3) : '–');

  /** The published model (else the newest) against the rule score, its bands, and every version. */
  function renderModel(m) {
    const shown = m.models.find((v) => v.published) || m.models[0] || null;
    const box = $('model-state');
    if (!shown) {
      box.textContent = 'No model has been trained yet: the rule score alone is written. Retrain (or smk model train) learns one from the closed outcomes.';
      box.className = 'target none';
    } else if (shown.published) {
      box.textContent = `Version ${shown.version} is published: its likelihood and reasons are written to both CRMs beside the rule score.`;
      box.className = 'target on-track';
    } else {
      box.textContent = `No model is published. The newest, version ${shown.version}, ${shown.publishable ? 'can be published: smk model publish ' + shown.version : 'cannot be published: ' + shown.reasons.join(' ')}`;
      box.className = 'target behind';
    }
    setText('model-version', shown ? `· version ${shown.version}` : '');
    const e = shown ? shown.evaluation : null;
    setText('model-auc', auc(e && e.model.auc));
    setText('rules-auc', auc(e && e.rules.auc));
    setText('model-tested', e ? num(e.test.outcomes) : '–');
    setText('model-tested-n', e ? `newer outcomes, ${num(e.test.positives)} ${shown.target === 'won' ? 'won' : 'converted'}` : '');
    setText('model-trained', e ? num(e.train.outcomes) : '–');
    const deciles = e ? e.model.calibration.map((bin, i) => ({ model: bin, rules: e.rules.calibration[i] })) : [];
    fillTable('calibration-table', deciles, (d, tr) => {
      tr.append(th(String(d.model.decile)), td(num(d.model.count), 'num'), td(pct(d.model.predicted), 'num'), td(pct(d.model.actual), 'num'), td(d.rules ? pct(d.rules.predicted) : '–', 'num'), td(d.rules ? pct(d.rules.actual) : '–', 'num'));
    });
    fillTable('band-table', m.bands || [], (b, tr) => {
      tr.append(th(b.band), td(num(b.leads), 'num'), td(num(b.outcomes), 'num'), td(num(b.converted), 'num'), td(pct(b.rate), 'num'));
    });
    fillTable('model-versions', m.models, (v, tr) => {
      const status = v.published ? 'Published' : v.publishable ? 'Can be published' : `Not publishable: ${v.reasons.join(' ')}`;
      tr.append(th(String(v.version)), td(ago(v.trainedAt), 'nowrap'), td(v.target === 'won' ? 'won' : 'opportunity'), td(auc(v.evaluation.model.auc), 'num'), td(auc(v.evaluation.rules.auc), 'num'), td(status, 'wrap'));
    });
  }

  async function retrain() {
    const button = $('retrain');
    button.disabled = true;
    try {
      await api('/api/model/retrain', { method: 'POST', headers: WRITE_HEADERS, body: '{}' });
      notify('Retraining queued: the new version appears under Versions when it is done.', 'ok');
    } catch (err) {
      notify(`Retrain failed: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  /** What stops or limits the sync, at the top of the page, each with what to do. */
  function renderBanners(status) {
    const banners = [];
    const banner = (text) => {
      const p = document.createElement('p');
      p.className = 'banner error';
      p.setAttribute('role', 'alert');
      p.textContent = text;
      banners.push(p);
    };
    if (status.rebuildingSince) {
      banner(`Rebuilding since ${status.rebuildingSince}: Redis came back empty, so both CRMs are being read again (only differences are written). The figures are incomplete until it is done.`);
    }
    for (const [crm, s] of Object.entries(status.crms)) {
      if (!s.connection || s.connection.state !== 'auth_failed') continue;
      const label = crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
      banner(`${label} refuses our authorisation since ${s.connection.since}${s.connection.message ? ` (${s.connection.message})` : ''}: syncing with it has stopped. To fix: ${s.connection.fix || 'connect it again'}.`);
    }
    $('banners').replaceChildren(...banners);
  }

  function renderStatus(status) {
    const cards = Object.entries(status.crms).map(([crm, s]) => {
      const card = document.createElement('div');
      card.className = 'crm-card';
      card.dataset.crm = crm;
      const title = document.createElement('h3');
      title.textContent = crm === 'hubspot' ? 'HubSpot' : 'Salesforce';
      const last = document.createElement('p');
      last.textContent = `Last sync: ${ago(s.lastSyncAt)}`;
      card.append(title, last);
      // Salesforce's Change Data Capture stream: connected or not, the last event and its lag.
      if (s.stream) {
        const stream = document.createElement('p');
        stream.className = 'stream';
        const st = s.stream;
        stream.textContent = st.state === 'connected'
          ? `Change stream: connected; last event ${st.lastEventAt ? ago(new Date(st.lastEventAt).toISOString()) : 'none yet'}${st.lagMs !== undefined ? `, lag ${(st.lagMs / 1000).toFixed(1)} s` : ''}`
          : `Change stream: ${st.state === 'unknown' ? 'not started' : st.state}${st.message ? ` (${st.message})` : ''}; polling instead`;
        card.append(stream);
      }
      if (s.connection && s.connection.state === 'auth_failed') {
        const stopped = document.createElement('p');
        stopped.className = 'stopped';
        stopped.textContent = 'Not syncing: authorisation refused (see the banner above).';
        card.append(stopped);
      }
      const q = s.quota;
      const budget = document.createElement('p');
      if (q.error) {
        budget.textContent = `API budget: unavailable (${q.error})`;
        card.append(budget);
      } else {
        const limit = q.dailyBudget ?? q.dailyLimit;
        budget.textContent = limit ? `API budget: ${num(q.dailyUsed)} of ${num(limit)} today${q.paused ? ' (paused)' : ''}` : `API calls today: ${num(q.dailyUsed)}`;
        card.append(budget);
        if (limit) card.append(Charts.meter(q.dailyUsed / limit, { summary: `${crm} API budget ${pct(q.dailyUsed / limit)} used` }));
      }
      const how = document.createElement('p');
      how.className = 'connected-by';
      how.textContent = `Connected by ${s.connectedBy}.`;
      card.append(how);
      // The OAuth install link only where an install can work (the app and SMK_PUBLIC_URL are set).
      if (s.oauthInstall) {
        const connect = document.createElement('a');
        connect.href = `/oauth/${crm}/start`;
        connect.className = 'connect';
        connect.textContent = `Connect ${title.textContent} with OAuth`;
        card.append(connect);
      }
      return card;
    });
    $('crm-status').replaceChildren(...cards);
    renderBanners(status);
    fillTable('queue-table', Object.entries(status.queues), ([name, c], tr) => {
      tr.append(th(name), td(num(c.waiting + c.prioritized), 'num'), td(num(c.active), 'num'), td(num(c.delayed), 'num'), td(num(c.failed), 'num'));
    });
  }

  function renderErrors(list) {
    setText('errors-total', num(list.total));
    $('errors-csv').href = `/api/sync-errors.csv${filterQuery('?')}`;
    $('retry-all').textContent = state.errorFilter ? 'Retry these' : 'Retry all';
    if (state.errorFilter && list.total === 0) state.errorFilter = null;
    $('errors-empty').hidden = list.total > 0;
    $('retry-all').disabled = list.total === 0;
    const chips = list.categories.map((c) => {
      const li = document.createElement('li');
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip';
      const active = state.errorFilter !== null && state.errorFilter.crm === c.crm && state.errorFilter.code === c.code;
      chip.setAttribute('aria-pressed', String(active));
      chip.textContent = `${c.crm} · ${c.code}: ${num(c.count)}`;
      chip.addEventListener('click', () => {
        state.errorFilter = active ? null : { crm: c.crm, code: c.code };
        void refresh();
      });
      li.append(chip);
      return li;
    });
    $('error-categories').replaceChildren(...chips);
    fillTable('error-table', list.errors, (e, tr) => {
      tr.dataset.errorId = e.id;
      const record = [e.object, e.recordId || e.leadId].filter(Boolean).join(' ');
      const message = td(e.field ? `${e.field}: ${e.message}` : e.message, 'message');
      message.title = e.message;
      const action = document.createElement('td');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'retry';
      button.textContent = 'Retry';
      button.setAttribute('aria-label', `Retry ${e.code} on ${e.crm} ${record || 'record'}`);
      button.addEventListener('click', () => retry(e.id, button));
      action.append(button);
      tr.append(td(e.crm), td(record || '–'), td(e.code, 'code'), message, td(num(e.attempts), 'num'), td(ago(e.lastSeen), 'nowrap'), action);
    }, list.total);
  }

  /** The chosen category as query parameters (prefix '?' or '&'), or ''. */
  function filterQuery(prefix) {
    if (!state.errorFilter) return '';
    return `${prefix}${new URLSearchParams(state.errorFilter).toString()}`;
  }

  async function retry(id, button) {
    button.disabled = true;
    try {
      const result = await api(`/api/sync-errors/${encodeURIComponent(id)}/retry`, { method: 'POST', headers: WRITE_HEADERS });
      const row = button.closest('tr');
      if (row) row.remove();
      notify(`Retry queued (${result.action === 'evaluate' ? 'the lead is evaluated again' : result.action === 'reread' ? 'the record is read again' : 'the CRM is polled again'}).`, 'ok');
      void refresh();
    } catch (err) {
      button.disabled = false;
      notify(`Retry failed: ${err.message}`, 'error');
    }
  }

  async function retryAll() {
    const button = $('retry-all');
    button.disabled = true;
    try {
      const result = await api('/api/sync-errors/retry-all', { method: 'POST', headers: WRITE_HEADERS, body: JSON.stringify(state.errorFilter || {}) });
      state.errorFilter = null;
      const q = result.queued || {};
      notify(`Retry queued for ${num(result.retried)} errors: ${num(q.evaluations || 0)} lead(s) to evaluate, ${num(q.rereads || 0)} record(s) to read again, ${num(q.polls || 0)} CRM(s) to poll.`, 'ok');
      void refresh();
    } catch (err) {
      notify(`Retry failed: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async function refresh() {
    if (state.busy) {
      // A click asked for fresh data while a refresh runs: run once more when it ends.
      state.again = true;
      return;
    }
    state.busy = true;
    state.again = false;
    clearTimeout(state.timer);
    try {
      // A refused period (dates the wrong way round) is said beside the picker; the rest still refreshes.
      const funnelOrError = api(funnelPath()).catch((err) => ({ error: err.message }));
      const [status, funnel, sla, feedback, errors, model] = await Promise.all([
        api('/api/status'), funnelOrError, api('/api/reports/sla'), api('/api/reports/feedback'), api(`/api/sync-errors?limit=100${filterQuery('&')}`), api('/api/model'),
      ]);
      $('period-error').hidden = !funnel.error;
      if (funnel.error) setText('period-error', `That period cannot be shown: ${funnel.error}`);
      else renderFunnel(funnel);
      renderSla(sla);
      renderFeedback(feedback);
      renderStatus(status);
      renderErrors(errors);
      renderModel(model);
      setText('updated', `Updated ${new Date().toLocaleTimeString()} · ${num(status.leads)} leads`);
      document.body.dataset.loaded = 'true';
    } catch (err) {
      setText('updated', `Could not refresh: ${err.message}`);
    } finally {
      state.busy = false;
      // Polling pauses while the tab is hidden; visibilitychange resumes it.
      if (!document.hidden) state.timer = setTimeout(refresh, state.again ? 0 : REFRESH_MS);
    }
  }

  document.querySelectorAll('[data-breakdown]').forEach((button) => {
    button.addEventListener('click', () => {
      state.breakdown = button.dataset.breakdown;
      document.querySelectorAll('[data-breakdown]').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      renderBreakdown();
    });
  });
  document.querySelectorAll('[data-period]').forEach((button) => {
    button.addEventListener('click', () => {
      state.period = { period: button.dataset.period };
      document.querySelectorAll('[data-period]').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      void refresh();
    });
  });
  $('period-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.period = { from: $('period-from').value, to: $('period-to').value };
    document.querySelectorAll('[data-period]').forEach((b) => b.setAttribute('aria-pressed', 'false'));
    // Leave the fields, so the next refresh shows the range the server understood.
    document.activeElement?.blur();
    void refresh();
  });
  $('retry-all').addEventListener('click', retryAll);
  $('retrain').addEventListener('click', retrain);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
  const installed = new URLSearchParams(location.search).get('installed');
  if (installed === 'hubspot' || installed === 'salesforce') notify(`${installed === 'hubspot' ? 'HubSpot' : 'Salesforce'} is connected.`, 'ok');
  void refresh();
})();
