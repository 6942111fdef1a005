// The moderators' console: sign in with the user pool, see the queues (depth, oldest),
// claim the next batch, approve or reject each with a reason from the policy (keys a and
// r), see an item's history, and undo a decision within a few seconds.
//
// Undo is a delay: a decision waits UNDO_SECONDS in the page before it is sent, and undo
// simply cancels it. Decisions still waiting when the page is left are sent at once
// (fetch keepalive), so none is lost.
//
// With hundreds of comments waiting the page stays small: the batch holds what you
// claimed (the API leases at most 20 at a time) and the queue is read 50 at a time.
//
// The spam queue holds what the defences caught (a blocked email, domain or word, the
// honeypot); it is deleted at its `expires_at` unless approved. Out of spam there is one way, approve ("Not spam"): the page offers nothing
// else and refuses the r key itself (the API would answer 409 spam_approve_only).
import { apiUrl, ApiError, latestOnly, newIdempotencyKey, request } from "./api.js";
import { signIn, signOut, SignInError, token, user } from "./auth.js";
import { $, $$, ago, dateTime, el, say } from "./dom.js";
import { clearErrors, showErrors } from "./forms.js";

export const UNDO_SECONDS = Number(new URLSearchParams(location.search).get("undo") || 5);
const PAGE = 50;
const HISTORY = {
  submitted: "Submitted", approve: "Approved", reject: "Rejected", spam: "Marked as spam",
  hidden: "Hidden after reports", reported: "Reported",
};
const VERBS = { approve: "Approved", reject: "Rejected", spam: "Marked as spam" };
// The flags that say why the defences put a comment in the spam queue.
const CAUGHT = {
  blocked_email: "a blocked email address", blocked_domain: "a blocked email domain",
  blocked_word: "a blocked word", honeypot: "the form's hidden field was filled in (a bot)",
};
const SPAM_ONLY_APPROVE = "A comment caught as spam can only be approved.";

// The queue table and the cards show only their latest request's answer: a page still on
// its way when the moderator picks another queue, or a late stats answer, is dropped.
const fetchQueuePage = latestOnly();
const fetchStats = latestOnly();

const state = {
  reasons: [],
  batch: new Map(), // comment_id -> {item, node, waiting: {action, timer, body} | null, done}
  order: [], // comment ids in the batch, in order
  current: -1,
  browse: { queue: "pending", cursor: null, shown: 0 },
};

// ---------------------------------------------------------------- signing in

function moderator() {
  const u = user();
  return u && u.groups.includes("moderators") ? u : null;
}

function showDesk() {
  const u = user();
  const status = $("#status");
  if (!u) {
    $("#desk").hidden = true;
    $("#sign-in").hidden = false;
    return false;
  }
  if (!moderator()) {
    say(status, "This account is not a moderator's. Sign out and sign in with a moderator's account.", "error");
    $("#desk").hidden = false;
    $("#sign-in").hidden = true;
    $("#who").textContent = u.email;
    for (const section of $$("#desk section")) section.hidden = true;
    return false;
  }
  $("#sign-in").hidden = true;
  $("#desk").hidden = false;
  for (const section of $$("#desk section")) section.hidden = false;
  $("#who").textContent = u.name ? `${u.name} (${u.email})` : u.email;
  return true;
}

async function start() {
  if (!showDesk()) return;
  try {
    const { data } = await request("/comment-policy");
    state.reasons = data.reason_codes;
  } catch (error) {
    say($("#status"), error.message, "error");
  }
  await Promise.all([refreshStats(), browse(false)]);
}

// ---------------------------------------------------------------- queues

function ageText(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  return ago(new Date(Date.now() - seconds * 1000).toISOString());
}

async function refreshStats() {
  try {
    const answer = await fetchStats("/moderation/stats", { auth: true });
    if (!answer) return; // a newer refresh was asked for meanwhile
    const { data } = answer;
    for (const name of ["pending", "reported"]) {
      const { depth, oldest_age_seconds: age } = data.queues[name];
      const card = $(`#queue-${name}`);
      card.querySelector(".n").textContent = String(depth);
      card.querySelector(".oldest").textContent = depth ? `Oldest waiting ${ageText(age)}` : "Nothing waiting";
    }
    // Spam has no count (TTL deletes what expires): whether any is kept, and when the
    // next one goes unless a moderator approves it.
    const { spam } = data;
    const card = $("#queue-spam");
    card.querySelector(".n").textContent = spam.waiting ? "Waiting" : "None";
    card.querySelector(".oldest").textContent = spam.waiting
      ? `The next is deleted ${dateTime(spam.next_deletion_at)} unless approved.`
      : "Nothing caught is kept.";
    $("#show-spam").hidden = !spam.waiting;
    $("#queue-today .n").textContent = String(data.decisions_today);
  } catch (error) {
    handle(error);
  }
}

async function browse(more) {
  const b = state.browse;
  const query = new URLSearchParams({ queue: b.queue, limit: String(PAGE) });
  if (more && b.cursor) query.set("cursor", b.cursor);
  try {
    const answer = await fetchQueuePage(`/moderation/queue?${query}`, { auth: true });
    if (!answer) return; // a newer view was asked for meanwhile
    const { data } = answer;
    const rows = data.items.map((item) => el("tr", {},
      el("td", {}, ageText((Date.now() - Date.parse(item.waiting_since)) / 1000)),
      el("td", {}, item.author_name),
      el("td", {}, item.post?.title || item.post_id),
      el("td", { class: "text" }, excerpt(item.body, 140),
        isSpam(item) ? el("span", { class: "meta" }, ` (${spamWhy(item)}; ${deletedText(item)})`) : ""),
      el("td", {}, item.claim ? (item.claim.mine ? "you" : item.claim.by) : "")));
    if (more) $("#browse").append(...rows);
    else $("#browse").replaceChildren(...rows);
    b.shown = (more ? b.shown : 0) + rows.length;
    b.cursor = data.next_cursor;
    $("#browse-more").hidden = !data.next_cursor;
    $("#browse-shown").textContent = `${b.shown} shown`;
  } catch (error) {
    handle(error);
  }
}

function isSpam(item) {
  return item.queue === "spam";
}

/** Why a spam-queue comment is there, from its flags: "a blocked word (blocked_word)". */
function spamWhy(item) {
  const flags = item.flags || [];
  const caught = flags.filter((f) => CAUGHT[f]);
  if (!caught.length) return `caught as spam${flags.length ? `; flags: ${flags.join(", ")}` : ""}`;
  const others = flags.filter((f) => !CAUGHT[f]);
  return `caught as spam: ${caught.map((f) => `${CAUGHT[f]} (${f})`).join(", ")}`
    + (others.length ? `; flags: ${others.join(", ")}` : "");
}

function deletedText(item) {
  const when = item.expires_at ? dateTime(item.expires_at) : "";
  return when ? `deleted ${when} unless approved` : "deleted after its retention unless approved";
}

function excerpt(text, n) {
  const t = String(text || "").replace(/\s+/g, " ").trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

// ---------------------------------------------------------------- the batch

async function claim(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  clearErrors(form);
  try {
    const queue = form.elements.queue.value;
    const count = Number(form.elements.count.value);
    const { data } = await request("/moderation/claims", { method: "POST", auth: true, body: { queue, count } });
    // The answer is the caller's whole batch: what they held (leases extended) and what
    // this call added, oldest first.
    const items = data.items || [];
    const fresh = items.filter((item) => !state.batch.has(item.comment_id));
    for (const item of fresh) addToBatch(item, data);
    say($("#status"), fresh.length
      ? `You claimed ${fresh.length} comment${fresh.length === 1 ? "" : "s"} from the ${queue} queue.`
      : `Nothing left to claim in the ${queue} queue.`, fresh.length ? "ok" : "info");
    if (fresh.length) focusItem(state.order.indexOf(fresh[0].comment_id));
    refreshStats();
    browse(false);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) showErrors(form, error);
    else handle(error);
  } finally {
    button.disabled = false;
  }
}

/** The decision controls: approve, reject or spam with a reason; for a comment in the spam
 * queue only "Not spam: approve". History either way. */
function decisionControls(item) {
  const id = item.comment_id;
  const history = el("button", {
    type: "button", class: "secondary history-toggle", "aria-expanded": "false", "aria-keyshortcuts": "h",
    onclick: () => toggleHistory(id),
  }, "History");
  if (isSpam(item)) {
    return [
      el("button", { type: "button", class: "ok", "aria-keyshortcuts": "a", onclick: () => decide(id, "approve") },
        "Not spam: approve"),
      history,
    ];
  }
  const reasonId = `reason-${id}`;
  const noteId = `note-${id}`;
  const reason = el("select", { id: reasonId, name: "reason_code" },
    el("option", { value: "" }, "Choose a reason"),
    state.reasons.map((r) => el("option", { value: r.code }, r.label)));
  const note = el("input", { id: noteId, name: "note", type: "text", maxlength: 1000, autocomplete: "off" });
  return [
    el("div", { class: "field" }, el("label", { for: reasonId }, "Reason"), reason),
    el("div", { class: "field" }, el("label", { for: noteId }, "Note (optional)"), note),
    el("button", { type: "button", class: "ok", "aria-keyshortcuts": "a", onclick: () => decide(id, "approve") }, "Approve"),
    el("button", { type: "button", class: "danger", "aria-keyshortcuts": "r", onclick: () => decide(id, "reject") }, "Reject"),
    el("button", { type: "button", class: "secondary", onclick: () => decide(id, "spam") }, "Spam"),
    history,
  ];
}

function addToBatch(item, claimAnswer) {
  const id = item.comment_id;
  const spam = isSpam(item);
  const headingId = `item-${id}-heading`;
  const node = el("li", {
    class: spam ? "item spam" : "item", id: `item-${id}`, tabindex: "-1", "aria-labelledby": headingId,
  },
    el("h3", { id: headingId }, spam ? el("span", { class: "badge badge-full" }, "Spam") : "", spam ? " " : "",
      `${item.author_name} on “${item.post?.title || item.post_id}”`),
    el("p", { class: "meta" },
      item.author_email ? `${item.author_email} · ` : "",
      item.by_member ? "member · " : "guest · ",
      `written ${dateTime(item.created_at)}, waiting ${ageText((Date.now() - Date.parse(item.waiting_since)) / 1000)}`,
      item.author_history ? ` · earlier: ${item.author_history.approved} approved, ${item.author_history.rejected} rejected, ${item.author_history.spam} spam` : "",
      item.report_count ? ` · reported ${item.report_count} time${item.report_count === 1 ? "" : "s"}` : "",
      !spam && item.flags?.length ? ` · flags: ${item.flags.join(", ")}` : ""),
    spam ? el("p", { class: "spam-why" },
      `${capitalise(spamWhy(item))}. It will be ${deletedText(item)}; it can only be approved.`) : "",
    item.parent ? el("p", { class: "meta" }, `In reply to ${item.parent.author_name || "a comment"}: “${excerpt(item.parent.body, 120)}”`) : "",
    item.reports?.length ? el("ul", { class: "meta" }, item.reports.map((r) =>
      el("li", {}, `Reported: ${reasonLabel(r.reason)}${r.note ? `, “${r.note}”` : ""}`))) : "",
    // The raw text as the author wrote it, shown as text.
    el("div", { class: "body" }, item.body),
    el("form", { class: "decide", novalidate: true, onsubmit: (e) => e.preventDefault() },
      el("div", { class: "form-summary", tabindex: "-1" }),
      decisionControls(item)),
    el("p", { class: "outcome", role: "status" }),
  );
  node.addEventListener("focusin", () => { state.current = state.order.indexOf(id); markCurrent(); });
  state.batch.set(id, { item, node, waiting: null, done: false, claim: claimAnswer });
  state.order.push(id);
  $("#batch").append(node);
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function markCurrent() {
  state.order.forEach((id, i) => state.batch.get(id).node.classList.toggle("current", i === state.current));
}

function focusItem(index) {
  if (index < 0 || index >= state.order.length) return;
  state.current = index;
  markCurrent();
  state.batch.get(state.order[index]).node.focus();
}

function nextOpen(from) {
  for (let i = from + 1; i < state.order.length; i++) {
    const entry = state.batch.get(state.order[i]);
    if (!entry.done && !entry.waiting) return i;
  }
  return -1;
}

// ---------------------------------------------------------------- deciding, with undo

function decide(id, action) {
  const entry = state.batch.get(id);
  if (!entry || entry.done || entry.waiting) return;
  const form = entry.node.querySelector("form.decide");
  if (isSpam(entry.item) && action !== "approve") {
    showErrors(form, { message: SPAM_ONLY_APPROVE, fields: {} });
    return;
  }
  const reason = form.elements.reason_code?.value || "";
  if (action !== "approve" && !reason) {
    showErrors(form, {
      message: "Choose a reason from the policy first.",
      fields: { reason_code: "Choose a reason from the policy to reject a comment." },
    });
    return;
  }
  clearErrors(form);
  const body = {
    action,
    reason_code: reason || null,
    note: form.elements.note?.value.trim() || null,
    version: entry.item.version,
  };
  entry.waiting = {
    action, body, key: newIdempotencyKey(), timer: setTimeout(() => send(id), UNDO_SECONDS * 1000),
  };
  entry.node.classList.add("pending-decision");
  lock(form, true);
  entry.node.querySelector(".outcome").textContent =
    `${VERBS[action]}: sending in ${UNDO_SECONDS} seconds. Press u or Undo to take it back.`;
  showUndo(id);
  const next = nextOpen(state.order.indexOf(id));
  if (next >= 0) focusItem(next);
  else $("#undo button")?.focus();
}

/** The decision's controls, on or off; the history stays available. */
function lock(form, locked) {
  for (const control of form.elements) {
    if (!control.classList.contains("history-toggle")) control.disabled = locked;
  }
}

function showUndo(id) {
  const entry = state.batch.get(id);
  $("#undo").replaceChildren(
    el("span", {}, `${VERBS[entry.waiting.action]}: “${excerpt(entry.item.body, 60)}”`),
    el("button", { type: "button", "aria-keyshortcuts": "u", onclick: () => undo(id) }, "Undo"),
  );
}

function latestWaiting() {
  for (let i = state.order.length - 1; i >= 0; i--) {
    if (state.batch.get(state.order[i]).waiting) return state.order[i];
  }
  return null;
}

function undo(id = latestWaiting()) {
  const entry = id && state.batch.get(id);
  if (!entry?.waiting) return;
  clearTimeout(entry.waiting.timer);
  entry.waiting = null;
  entry.node.classList.remove("pending-decision");
  lock(entry.node.querySelector("form.decide"), false);
  entry.node.querySelector(".outcome").textContent = "Undone: nothing was sent.";
  const other = latestWaiting();
  if (other) showUndo(other);
  else $("#undo").replaceChildren();
  focusItem(state.order.indexOf(id));
}

async function send(id) {
  const entry = state.batch.get(id);
  if (!entry?.waiting) return;
  const { action, key, body } = entry.waiting;
  entry.waiting = null;
  entry.sending = true;
  const outcome = entry.node.querySelector(".outcome");
  outcome.textContent = `${VERBS[action]}: sending…`;
  if (!latestWaiting()) $("#undo").replaceChildren();
  else showUndo(latestWaiting());
  try {
    await request(`/moderation/comments/${encodeURIComponent(id)}/decision`, {
      method: "POST", auth: true, body, headers: { "Idempotency-Key": key },
    });
    entry.done = true;
    entry.node.classList.remove("pending-decision");
    entry.node.classList.add("decided");
    entry.node.dataset.decision = action;
    outcome.textContent = `${VERBS[action]}.`;
    refreshStats();
  } catch (error) {
    entry.node.classList.remove("pending-decision");
    const form = entry.node.querySelector("form.decide");
    lock(form, false);
    outcome.textContent = "";
    if (error.status === 409 && error.code === "spam_approve_only") {
      showErrors(form, { message: SPAM_ONLY_APPROVE, fields: {} });
    } else if (error.status === 409) {
      // Decided or held by someone else meanwhile: nothing to do here any more.
      entry.done = true;
      lock(form, true);
      outcome.textContent = `Not applied: ${error.message}`;
    } else if (error.status === 401) {
      handle(error);
    } else {
      showErrors(form, error);
    }
  } finally {
    entry.sending = false;
  }
}

/** Leaving the page sends the decisions still waiting (keepalive outlives the page). */
function flush() {
  const jwt = token();
  for (const [id, entry] of state.batch) {
    if (!entry.waiting) continue;
    clearTimeout(entry.waiting.timer);
    const { body, key } = entry.waiting;
    entry.waiting = null;
    apiUrl(`/moderation/comments/${encodeURIComponent(id)}/decision`).then((url) => fetch(url, {
      method: "POST",
      keepalive: true,
      headers: {
        "Content-Type": "application/json", Authorization: `Bearer ${jwt}`, "Idempotency-Key": key,
      },
      body: JSON.stringify(body),
    }));
  }
}

// ---------------------------------------------------------------- history

async function toggleHistory(id) {
  const entry = state.batch.get(id);
  const button = entry.node.querySelector(".history-toggle");
  const open = button.getAttribute("aria-expanded") === "true";
  entry.node.querySelector(".history-box")?.remove();
  button.setAttribute("aria-expanded", String(!open));
  if (open) return;
  const box = el("div", { class: "history-box" }, el("p", { class: "muted" }, "Loading the history…"));
  entry.node.append(box);
  try {
    const { data } = await request(`/moderation/comments/${encodeURIComponent(id)}/history`, { auth: true });
    const records = data.items;
    box.replaceChildren(
      el("h4", {}, "History"),
      records.length
        ? el("ol", { class: "history" }, records.map((r) => el("li", {},
          `${dateTime(r.at)}: ${HISTORY[r.action] || r.action}`,
          r.from_status && r.to_status ? ` (${r.from_status} → ${r.to_status})` : "",
          r.moderator ? ` by ${r.moderator}` : "",
          r.reason_code ? `, reason ${reasonLabel(r.reason_code)}` : "",
          r.note ? `, note “${r.note}”` : "",
          r.detail ? `, ${r.detail}` : "")))
        : el("p", {}, "No history yet."));
  } catch (error) {
    box.replaceChildren(el("p", { class: "field-error" }, error.message));
  }
}

function reasonLabel(code) {
  return state.reasons.find((r) => r.code === code)?.label || code;
}

// ---------------------------------------------------------------- keys, errors, wiring

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable]")) return;
  if ($("#desk").hidden) return;
  const id = state.order[state.current];
  const keys = {
    j: () => focusItem(Math.min(state.current + 1, state.order.length - 1)),
    k: () => focusItem(Math.max(state.current - 1, 0)),
    a: () => id && decide(id, "approve"),
    r: () => id && decide(id, "reject"),
    h: () => id && toggleHistory(id),
    u: () => undo(),
  };
  const act = keys[event.key];
  if (act) {
    event.preventDefault();
    act();
  }
}

function handle(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    if (error.status === 401) signOut();
    say($("#status"), error.status === 401
      ? "Your sign-in has expired: sign in again."
      : "This account is not allowed to moderate.", "error");
    showDesk();
    return;
  }
  say($("#status"), error.message, "error");
}

function setUp() {
  const signInForm = $("#sign-in");
  signInForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = signInForm.querySelector("[type=submit]");
    button.disabled = true;
    try {
      await signIn(signInForm.elements.email.value.trim(), signInForm.elements.password.value);
      signInForm.reset();
      say($("#status"), "");
      await start();
      $("#claim button[type=submit]").focus();
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      showErrors(signInForm, { message: error.message, fields: {} });
    } finally {
      button.disabled = false;
    }
  });
  $("#sign-out").addEventListener("click", () => {
    flush();
    signOut();
    state.batch.clear();
    state.order = [];
    $("#batch").replaceChildren();
    say($("#status"), "You are signed out.");
    showDesk();
    $("#signin-email").focus();
  });
  $("#claim").addEventListener("submit", claim);
  $("#refresh").addEventListener("click", () => { refreshStats(); browse(false); });
  $("#browse-queue").addEventListener("change", (e) => {
    state.browse.queue = e.currentTarget.value;
    browse(false);
  });
  $("#browse-more").addEventListener("click", () => browse(true));
  $("#show-spam").addEventListener("click", () => {
    $("#browse-queue").value = state.browse.queue = "spam";
    browse(false);
    $("#browse-queue").focus();
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("pagehide", flush);
  setInterval(() => { if (moderator()) refreshStats(); }, 30_000);
}

setUp();
start();
