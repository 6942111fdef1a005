// A post's comments: the approved ones, threaded, with the count ("Read comments 2"), and
// the comment form. A guest's comment is held for a moderator: the page says "awaiting
// moderation" and does not add it to the list (it appears once approved).
//
// The post is named by data-post-id on #comments (a post's own page on the site), or by
// ?id= (post.html?id=...).
import { latestOnly, request } from "./api.js";
import { signIn, signOut, SignInError, user } from "./auth.js";
import { $, el, params, say, dateTime } from "./dom.js";
import { enhance, showErrors, values } from "./forms.js";

const section = $("#comments");
const postId = section.dataset.postId || params().get("id") || "";
const state = { count: 0, cursor: null, reasons: [] };
// A second click on "Show more" with the same cursor, or the first page still on its way:
// only the latest answer is shown, never a page twice.
const fetchPage = latestOnly();

const HELD = "Thank you. Your comment is awaiting moderation: it appears here once a moderator has approved it.";
const PUBLISHED = "Thank you. Your comment is published.";

function setCount(count) {
  state.count = count;
  $("#comment-count").textContent = String(count);
  $("#comment-count-label").textContent = `(${count})`;
}

async function load(more = false) {
  const status = $("#comments-status");
  const query = new URLSearchParams({ limit: "20" });
  if (more && state.cursor) query.set("cursor", state.cursor);
  try {
    const answer = await fetchPage(`/posts/${encodeURIComponent(postId)}/comments?${query}`);
    if (!answer) return;
    const { data } = answer;
    setCount(data.count);
    const list = $("#comment-list");
    const items = data.comments.map((c) => comment(c));
    if (more) list.append(...items);
    else list.replaceChildren(...items);
    if (!more && data.comments.length === 0) {
      say(status, "No comments yet: be the first.");
    }
    state.cursor = data.next_cursor;
    $("#more-comments").hidden = !data.next_cursor;
  } catch (error) {
    say(status, error.status === 404 ? "There is no such post." : error.message, "error");
  }
}

function comment(c) {
  const body = el("div", { class: "body" });
  // body_html is the one field inserted as HTML: the API renders the Markdown and
  // sanitises it server-side (nh3, an allow-list of tags and attributes). Everything else
  // goes in as text.
  body.innerHTML = c.body_html;
  const replies = c.replies?.length
    ? el("ol", { class: "thread", "aria-label": `Replies to ${c.author_name}` }, c.replies.map(comment))
    : "";
  const actions = el("p", { class: "actions" },
    c.depth < 3
      ? el("button", { type: "button", class: "secondary", onclick: () => replyTo(c) }, "Reply")
      : "",
    el("button", {
      type: "button", class: "secondary", "aria-expanded": "false",
      onclick: (e) => toggleReport(e.currentTarget, c),
    }, "Report"),
  );
  return el("li", { class: "comment", id: `comment-${c.comment_id}` },
    el("article", { "aria-label": `Comment by ${c.author_name}` },
      el("p", { class: "meta" },
        el("span", { class: "author" }, c.author_name),
        c.by_member ? " (member)" : "",
        " · ",
        el("time", { datetime: c.created_at }, dateTime(c.created_at))),
      body,
      actions),
    replies);
}

function replyTo(c) {
  $("#comment-parent").value = c.comment_id;
  $("#replying-to").textContent = c.author_name;
  $("#replying").hidden = false;
  $("#comment-body").focus();
}

function cancelReply() {
  $("#comment-parent").value = "";
  $("#replying").hidden = true;
}

async function toggleReport(button, c) {
  const open = button.getAttribute("aria-expanded") === "true";
  const holder = button.closest("article");
  holder.querySelector(".report")?.remove();
  button.setAttribute("aria-expanded", String(!open));
  if (open) return;
  const id = `report-${c.comment_id}`;
  const select = el("select", { id: `${id}-reason`, name: "reason", required: true },
    el("option", { value: "" }, "Choose a reason"),
    state.reasons.map((r) => el("option", { value: r.code }, r.label)));
  const form = el("form", { class: "stack report", method: "post" },
    el("div", { class: "form-summary", tabindex: "-1" }),
    el("div", { class: "field" }, el("label", { for: `${id}-reason` }, "Why should a moderator look at this?"), select),
    el("div", { class: "field" }, el("label", { for: `${id}-note` }, "Anything to add (optional)"),
      el("textarea", { id: `${id}-note`, name: "note", rows: 2, maxlength: 1000 })),
    el("p", { class: "actions" }, el("button", { type: "submit" }, "Send report")));
  holder.append(form);
  enhance(form, {
    path: () => `/comments/${encodeURIComponent(c.comment_id)}/reports`,
    body: (f) => ({ reason: f.elements.reason.value, note: f.elements.note.value || null }),
    onDone: () => {
      form.replaceWith(el("p", { class: "notice notice-ok", role: "status" }, "Thank you: a moderator will look at it."));
      button.setAttribute("aria-expanded", "false");
    },
  });
  select.focus();
}

function showMember() {
  const member = user();
  $("#comment-member-bar").hidden = !member;
  $("#sign-in-line").hidden = Boolean(member);
  if (member) $("#comment-member-name").textContent = member.name || member.email;
  for (const guest of document.querySelectorAll(".guest-only")) {
    guest.hidden = Boolean(member);
    for (const input of guest.querySelectorAll("input")) input.disabled = Boolean(member);
  }
}

function setUp() {
  const form = $("#comment-form");
  if (!form.getAttribute("action")) form.action = `/posts/${encodeURIComponent(postId)}/comments`;
  enhance(form, {
    path: () => `/posts/${encodeURIComponent(postId)}/comments`,
    auth: () => Boolean(user()),
    body: (f) => {
      const v = values(f);
      return {
        ...(v.name !== undefined ? { name: v.name } : {}),
        ...(v.email !== undefined ? { email: v.email } : {}),
        body: v.body || "",
        parent_id: v.parent_id || null,
        notify: Boolean(f.elements.notify.checked),
        website: v.website || "",
      };
    },
    onDone: async ({ data }) => {
      const status = $("#comments-status");
      form.elements.body.value = "";
      cancelReply();
      if (data.status === "approved") {
        say(status, PUBLISHED, "ok");
        await load();
      } else {
        say(status, HELD, "ok");
      }
      status.focus();
    },
  });
  $("#cancel-reply").addEventListener("click", cancelReply);
  $("#more-comments").addEventListener("click", () => load(true));

  const signInForm = $("#comment-sign-in");
  $("#show-sign-in").hidden = false; // signing in needs JavaScript
  $("#show-sign-in").addEventListener("click", (e) => {
    signInForm.hidden = !signInForm.hidden;
    e.currentTarget.setAttribute("aria-expanded", String(!signInForm.hidden));
    if (!signInForm.hidden) signInForm.elements.email.focus();
  });
  signInForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await signIn(signInForm.elements.email.value.trim(), signInForm.elements.password.value);
      signInForm.reset();
      signInForm.hidden = true;
      showMember();
      $("#comment-body").focus();
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      showErrors(signInForm, { message: error.message, fields: {} });
    }
  });
  $("#comment-sign-out").addEventListener("click", () => {
    signOut();
    showMember();
  });
  showMember();
}

async function main() {
  if (!postId) {
    say($("#comments-status"), "No post is named in the address.", "error");
    return;
  }
  setUp();
  // After a form post without JavaScript the API answers 303 back here with ?comment=.
  const after = params().get("comment");
  if (after === "pending") say($("#comments-status"), HELD, "ok");
  if (after === "approved") say($("#comments-status"), PUBLISHED, "ok");
  if (!section.dataset.postId) {
    // post.html?id=: the comments of any post, linking back to it.
    $("#post-link").href = `/blog/${encodeURIComponent(postId)}`;
    try {
      const { data } = await request(`/comment-counts?post=${encodeURIComponent(postId)}`);
      setCount(data.counts[postId] ?? 0);
    } catch { /* the list below sets the count too */ }
  }
  request("/comment-policy").then(({ data }) => { state.reasons = data.reason_codes; }).catch(() => {});
  await load();
}

main();
