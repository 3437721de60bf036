#!/usr/bin/env node
/*
 * Gmail-like IMAP server for dovecot-migrate integration tests.
 *
 *   node gmail-server.js --port P --account account.json [--user U --password P]
 *
 * Runs hoodiecrow-imap (a scriptable in-memory IMAP server) on 127.0.0.1 with
 * its built-in plugins (ENABLE ID IDLE NAMESPACE UNSELECT UIDPLUS MOVE
 * CONDSTORE SPECIAL-USE X-GM-EXT-1 AUTH-PLAIN SASL-IR) plus the "gmail" plugin
 * below, written against hoodiecrow's plugin API (setCommandHandler /
 * getCommandHandler, messageHandlers, fetchHandlers, storeHandlers,
 * searchHandlers, outputHandlers, connectionHandlers, registerCapability).
 * The plugin turns hoodiecrow's independent per-folder messages into Gmail's
 * model: one message (one X-GM-MSGID, one flag set, one label set) shown in
 * "[Gmail]/All Mail" and in one folder per label; Trash and Spam hold the
 * messages that are in no other folder. See README.md for details and for the
 * differences from real Gmail.
 *
 * The account JSON is written by gen-gmail-account.py.
 * Prints "GMAIL-SERVER READY port=N pid=N ..." on stdout once listening.
 */
"use strict";

const fs = require("fs");
const hoodiecrow = require("hoodiecrow-imap");

const ACCOUNT_FORMAT = "dovecot-migrate-gmail-account/1";

/* ------------------------------------------------------------------ */
/* command line                                                        */

function usage(msg) {
    if (msg) {
        process.stderr.write("gmail-server: " + msg + "\n");
    }
    process.stderr.write(
        "usage: node gmail-server.js --port P --account FILE [--user U] [--password P]\n" +
        "         [--host 127.0.0.1] [--ready-file F] [--pid-file F] [--stats-file F]\n" +
        "         [--state-file F] [--watch-pid PID] [--trace] [--show-selected-label]\n" +
        "         [--atom-labels] [--no-condstore] [--oauth2 FILE]\n" +
        "  --port 0 picks a free port (printed in the READY line and the ready file).\n" +
        "  --stats-file: JSON traffic counters, rewritten at every disconnect and at exit.\n" +
        "  --state-file: JSON dump of every folder (uid, X-GM-MSGID, flags, labels),\n" +
        "                written on SIGUSR2 and at exit.\n" +
        "  --trace: also log the first line of every server write.\n" +
        "  --show-selected-label: list the selected folder's own label in X-GM-LABELS\n" +
        "               (Gmail leaves it out).\n" +
        "  --atom-labels: send X-GM-LABELS as atoms (\\Inbox) instead of quoted strings.\n" +
        "  --no-condstore: do not offer CONDSTORE (Gmail does).\n" +
        "  --oauth2 FILE: also an OAuth2 token endpoint (HTTPS) and XOAUTH2/OAUTHBEARER\n" +
        "               logins with the tokens it issued; see oauth2Start() for FILE.\n" +
        "  --watch-pid: exit when that process is gone (the test script), so a test\n" +
        "               that dies without cleanup leaves no server behind.\n");
    process.exit(msg ? 64 : 0);
}

function parseArgs(argv) {
    const opt = {
        host: "127.0.0.1", trace: false, omitSelectedLabel: true, condstore: true, atomLabels: false,
    };
    const valued = {
        "--port": "port", "--account": "account", "--user": "user", "--password": "password",
        "--host": "host", "--ready-file": "readyFile", "--pid-file": "pidFile",
        "--stats-file": "statsFile", "--state-file": "stateFile", "--watch-pid": "watchPid",
        "--oauth2": "oauth2File",
    };
    for (let i = 0; i < argv.length; i++) {
        let a = argv[i], v;
        const eq = a.indexOf("=");
        if (a.startsWith("--") && eq > 0) {
            v = a.slice(eq + 1);
            a = a.slice(0, eq);
        }
        if (valued[a]) {
            if (v === undefined) {
                if (i + 1 >= argv.length) {
                    usage(a + " needs a value");
                }
                v = argv[++i];
            }
            opt[valued[a]] = v;
        } else if (a === "--trace") {
            opt.trace = true;
        } else if (a === "--show-selected-label") {
            opt.omitSelectedLabel = false;
        } else if (a === "--atom-labels") {
            opt.atomLabels = true;
        } else if (a === "--no-condstore") {
            opt.condstore = false;
        } else if (a === "-h" || a === "--help") {
            usage();
        } else {
            usage("unknown argument " + a);
        }
    }
    if (opt.port === undefined || !/^\d+$/.test(opt.port) || Number(opt.port) > 65535) {
        usage("--port N is required (0 = pick a free port)");
    }
    opt.port = Number(opt.port);
    if (opt.watchPid !== undefined && !/^[1-9]\d*$/.test(opt.watchPid)) {
        usage("--watch-pid needs a process id");
    }
    if (!opt.account) {
        usage("--account FILE is required");
    }
    /* Tests must never listen beyond loopback. */
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(opt.host)) {
        usage("--host must be an address in 127.0.0.0/8");
    }
    return opt;
}

/* ------------------------------------------------------------------ */
/* logging and counters                                                */

function ts() {
    return new Date().toISOString();
}

/* What a chunk the server writes answers, for bytes_out_by_kind: an
   untagged FETCH by its item names ("FETCH FLAGS UID X-GM-MSGID"), other
   untagged responses by name ("LIST", "OK"), tagged ones as "tagged",
   continuations as "+". */
function outputKind(head) {
    const line = head.split("\r\n")[0];
    let m = /^\* \d+ FETCH \((.*)/i.exec(line);
    if (m) {
        const names = [];
        const rest = m[1].replace(/"(?:[^"\\]|\\.)*"/g, "\"\"").replace(/\{\d+\}.*$/, "{}");
        /* item names are the atoms at even positions of the list */
        const toks = [];
        let depth = 0;
        let tok = "";
        for (const ch of rest) {
            if (ch === "(") {
                depth++;
            } else if (ch === ")") {
                depth--;
            }
            if (depth === 0 && ch === " ") {
                toks.push(tok);
                tok = "";
            } else if (depth >= 0) {
                tok += ch;
            }
        }
        toks.push(tok);
        for (let i = 0; i < toks.length; i += 2) {
            names.push(toks[i].toUpperCase());
        }
        return "FETCH " + names.sort().join(" ");
    }
    m = /^\* (?:\d+ )?([A-Z-]+)/i.exec(line);
    if (m) {
        return m[1].toUpperCase();
    }
    return line.startsWith("+") ? "+" : "tagged";
}

function log(line) {
    process.stdout.write(ts() + " " + line + "\n");
}

function writeFileAtomic(file, text) {
    const tmp = file + ".tmp" + process.pid;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
}

/* Hide secrets and literal payloads in logged client lines. */
function redactClientLine(line) {
    let m = /^(\S+\s+LOGIN\s+)(.*)$/i.exec(line);
    if (m) {
        return m[1] + "<redacted>";
    }
    m = /^(\S+\s+AUTHENTICATE\s+\S+)(\s.*)?$/i.exec(line);
    if (m) {
        return m[1] + (m[2] ? " <redacted>" : "");
    }
    return line.length > 300 ? line.slice(0, 300) + "...[" + line.length + " chars]" : line;
}

/* ------------------------------------------------------------------ */
/* account → hoodiecrow storage                                        */

function fnv1a(str) {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(str, "utf8")) {
        h = Math.imul(h ^ b, 0x01000193) >>> 0;
    }
    return (h % 999983) + 1;
}

const SYSTEM_LABELS = {
    "\\inbox": "\\Inbox", "\\starred": "\\Starred", "\\important": "\\Important",
    "\\sent": "\\Sent", "\\draft": "\\Draft", "\\drafts": "\\Draft",
    "\\muted": "\\Muted", "\\trash": "\\Trash", "\\spam": "\\Spam",
};

function normalizeLabel(label) {
    label = String(label);
    if (label.charAt(0) === "\\") {
        return SYSTEM_LABELS[label.toLowerCase()] || label;
    }
    return label;
}

/* Special-use folder ↔ system label. \All, \Trash, \Junk carry no label. */
const SPECIAL_USE_LABEL = {
    "\\Flagged": "\\Starred", "\\Important": "\\Important",
    "\\Sent": "\\Sent", "\\Drafts": "\\Draft",
};
const LABEL_SPECIAL_USE = {
    "\\Starred": "\\Flagged", "\\Important": "\\Important",
    "\\Sent": "\\Sent", "\\Draft": "\\Drafts",
};

function loadAccount(file) {
    const account = JSON.parse(fs.readFileSync(file, "utf8"));
    if (account.format !== ACCOUNT_FORMAT) {
        throw new Error(file + ": format is not " + ACCOUNT_FORMAT);
    }
    if (!Array.isArray(account.folders) || !Array.isArray(account.messages)) {
        throw new Error(file + ": folders[] and messages[] are required");
    }
    return account;
}

/* One Gmail message; every folder copy (a hoodiecrow message) points here. */
function makeGmailMessage(m) {
    const raw = Buffer.from(m.raw, "utf8").toString("latin1");
    const g = {
        id: m.id || null,
        msgid: String(m.x_gm_msgid),
        thrid: String(m.x_gm_thrid || m.x_gm_msgid),
        labels: [],
        flags: [],
        location: m.location || "all",
        popDeleted: !!m.pop_deleted,
        uidSkip: Number(m.uid_skip || 0),
        raw: raw,
        internaldate: m.internaldate,
        parsed: null,
        headers: null,
        copies: new Map(),
    };
    for (const l of m.labels || []) {
        const n = normalizeLabel(l);
        if (g.labels.indexOf(n) < 0) {
            g.labels.push(n);
        }
    }
    for (const f of m.flags || []) {
        if (f !== "\\Deleted" && f !== "\\Recent" && g.flags.indexOf(f) < 0) {
            g.flags.push(f);
        }
    }
    /* On Gmail \Flagged and the \Starred label are the same thing. */
    if (g.labels.indexOf("\\Starred") >= 0 && g.flags.indexOf("\\Flagged") < 0) {
        g.flags.push("\\Flagged");
    } else if (g.flags.indexOf("\\Flagged") >= 0 && g.labels.indexOf("\\Starred") < 0) {
        g.labels.push("\\Starred");
    }
    if (["all", "trash", "spam"].indexOf(g.location) < 0) {
        throw new Error("message " + g.id + ": location must be all, trash or spam");
    }
    return g;
}

/* hoodiecrow caches a MIME parse on each message; keep only the most
   recent ones so a full download of a big account stays flat in memory. */
const PARSE_CACHE_MAX = 256;
const parseCache = [];

function parseCacheAdd(g) {
    parseCache.push(g);
    if (parseCache.length > PARSE_CACHE_MAX) {
        const old = parseCache.shift();
        if (parseCache.indexOf(old) < 0) {
            old.parsed = null;
        }
    }
}

/* A hoodiecrow message object for one folder; shares raw/parse with g. */
function makeCopy(g, uid, deleted) {
    const copy = {
        raw: g.raw,
        internaldate: g.internaldate,
        flags: g.flags.concat(deleted ? ["\\Deleted"] : []),
        uid: uid,
        "X-GM-MSGID": g.msgid,
    };
    Object.defineProperty(copy, "gm", { value: g, enumerable: false, writable: true });
    /* hoodiecrow caches the MIME parse on the message; share it. */
    Object.defineProperty(copy, "parsed", {
        enumerable: false,
        get() { return g.parsed; },
        set(v) {
            g.parsed = v;
            if (v) {
                parseCacheAdd(g);
            }
        },
    });
    return copy;
}

function buildStorage(account, gms) {
    const root = { separator: "/", type: "personal", folders: {} };
    const storage = { "INBOX": { messages: [] }, "": root };
    const byName = new Map();

    for (const f of account.folders) {
        const name = String(f.name);
        let node;
        if (name.toUpperCase() === "INBOX") {
            node = storage.INBOX;
        } else {
            let parent = root;
            const parts = name.split("/");
            for (let i = 0; i < parts.length; i++) {
                parent.folders = parent.folders || {};
                if (!parent.folders[parts[i]]) {
                    /* A parent nobody listed: \Noselect like a bare hierarchy node. */
                    parent.folders[parts[i]] = { flags: ["\\Noselect"], messages: [] };
                }
                node = parent.folders[parts[i]];
                parent = node;
            }
            node.flags = (node.flags || []).filter((x) => x !== "\\Noselect");
        }
        if (f.noselect) {
            node.flags = ["\\Noselect"];
        }
        if (f.special_use) {
            node["special-use"] = f.special_use;
        }
        node.uidvalidity = Number(f.uidvalidity || fnv1a(name));
        node.messages = node.messages || [];
        node._gmLabel = f.label ? normalizeLabel(f.label) : null;
        byName.set(name.toUpperCase() === "INBOX" ? "INBOX" : name, node);
    }

    const bySpecialUse = {};
    const byLabel = {};
    for (const node of byName.values()) {
        if (node["special-use"]) {
            bySpecialUse[node["special-use"]] = node;
        }
        if (node._gmLabel) {
            byLabel[node._gmLabel] = node;
        }
    }
    for (const su of ["\\All", "\\Trash", "\\Junk"]) {
        if (!bySpecialUse[su]) {
            throw new Error("account has no folder with special-use " + su);
        }
    }
    if (!byLabel["\\Inbox"]) {
        byLabel["\\Inbox"] = storage.INBOX;
    }

    /* Initial membership, same rules as desiredFolders() below. */
    const last = new Map();
    for (const g of gms) {
        let nodes;
        if (g.location === "trash") {
            nodes = [bySpecialUse["\\Trash"]];
        } else if (g.location === "spam") {
            nodes = [bySpecialUse["\\Junk"]];
        } else {
            nodes = [bySpecialUse["\\All"]];
            for (const l of g.labels) {
                if (byLabel[l] && nodes.indexOf(byLabel[l]) < 0) {
                    nodes.push(byLabel[l]);
                }
            }
        }
        for (const node of nodes) {
            const uid = (last.get(node) || 0) + 1 + g.uidSkip;
            last.set(node, uid);
            node.messages.push(makeCopy(g, uid, false));
        }
    }
    for (const node of byName.values()) {
        delete node._gmLabel;
    }
    return storage;
}

/* ------------------------------------------------------------------ */
/* X-GM-RAW: a small subset of Gmail's search language                 */

function headerIndex(g) {
    if (!g.headers) {
        const end = g.raw.search(/\r?\n\r?\n/);
        const block = (end < 0 ? g.raw : g.raw.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
        g.headers = {};
        for (const line of block.split(/\r?\n/)) {
            const i = line.indexOf(":");
            if (i > 0) {
                const k = line.slice(0, i).trim().toLowerCase();
                (g.headers[k] = g.headers[k] || []).push(line.slice(i + 1).trim());
            }
        }
    }
    return g.headers;
}

function parseImapDate(s) {
    const m = /^\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)/.exec(s || "");
    if (!m) {
        return new Date(NaN);
    }
    const mon = "JanFebMarAprMayJunJulAugSepOctNovDec".indexOf(m[2]) / 3;
    const off = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
    return new Date(Date.UTC(+m[3], mon, +m[1], +m[4], +m[5], +m[6]) - off * 60000);
}

function labelKey(l) {
    return l.replace(/^\\/, "").toLowerCase().replace(/[ /]/g, "-");
}

function tokenizeRaw(q) {
    const out = [];
    const re = /\s*(-?)([A-Za-z0-9_^]+:)?("([^"]*)"|\(|\)|[^\s()"]+)/g;
    let m;
    while ((m = re.exec(q)) !== null) {
        if (m[0].trim() === "") {
            break;
        }
        out.push({ neg: m[1] === "-", op: m[2] ? m[2].slice(0, -1).toLowerCase() : null,
            val: m[4] !== undefined ? m[4] : m[3] });
    }
    return out;
}

function rawTermMatches(t, g, userLabelSet) {
    const v = String(t.val);
    const lv = v.toLowerCase();
    const hdr = (name) => (headerIndex(g)[name] || []).join("\n").toLowerCase();
    const hasLabel = (name) => g.labels.some((l) => labelKey(l) === labelKey(name));
    const size = (s) => {
        const mm = /^(\d+)([km]?)$/i.exec(s);
        return mm ? Number(mm[1]) * ({ k: 1024, m: 1048576 }[mm[2].toLowerCase()] || 1) : NaN;
    };
    const day = (s) => {
        const mm = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(s);
        return mm ? Date.UTC(+mm[1], +mm[2] - 1, +mm[3]) : NaN;
    };
    switch (t.op) {
    case "in":
        switch (lv) {
        case "anywhere": case "all": return true;
        case "trash": return g.location === "trash";
        case "spam": return g.location === "spam";
        case "^pop": return g.popDeleted;
        case "inbox": return hasLabel("\\Inbox");
        case "sent": return hasLabel("\\Sent");
        case "draft": case "drafts": return hasLabel("\\Draft");
        case "chats": return false;
        default: return hasLabel(v);
        }
    case "label":
        return hasLabel(v);
    case "is":
        switch (lv) {
        case "starred": case "flagged": return g.flags.indexOf("\\Flagged") >= 0;
        case "important": return hasLabel("\\Important");
        case "unread": return g.flags.indexOf("\\Seen") < 0;
        case "read": return g.flags.indexOf("\\Seen") >= 0;
        case "muted": return hasLabel("\\Muted");
        default: return false;
        }
    case "has":
        switch (lv) {
        case "userlabels": return g.labels.some((l) => userLabelSet(l));
        case "nouserlabels": return !g.labels.some((l) => userLabelSet(l));
        case "attachment": return /^content-disposition:\s*attachment/im.test(g.raw);
        default: return false;
        }
    case "from": case "to": case "cc": case "bcc": case "subject": case "list":
        return hdr(t.op === "list" ? "list-id" : t.op).indexOf(lv) >= 0;
    case "rfc822msgid":
        return hdr("message-id").replace(/[<>]/g, "") === lv.replace(/[<>]/g, "");
    case "after": case "newer":
        return parseImapDate(g.internaldate).getTime() >= day(v);
    case "before": case "older":
        return parseImapDate(g.internaldate).getTime() < day(v);
    case "larger":
        return g.raw.length > size(v);
    case "smaller":
        return g.raw.length < size(v);
    case null:
        return g.raw.toLowerCase().indexOf(lv) >= 0;
    default:
        throw new Error("X-GM-RAW: unsupported operator " + t.op + ":");
    }
}

/* AND of terms; "a OR b" groups adjacent terms; "-term" negates. */
function rawQueryMatches(query, g, userLabelSet) {
    const toks = tokenizeRaw(query).filter((t) => t.val !== "(" && t.val !== ")");
    let i = 0;
    let ok = true;
    while (i < toks.length) {
        let any = false;
        for (;;) {
            const t = toks[i++];
            any = any || (rawTermMatches(t, g, userLabelSet) !== t.neg);
            if (i < toks.length && !toks[i].op && !toks[i].neg && toks[i].val === "OR") {
                i++;
                continue;
            }
            break;
        }
        ok = ok && any;
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* the Gmail plugin                                                    */

function seqSet(nums) {
    const s = nums.slice().sort((a, b) => a - b);
    const out = [];
    for (let i = 0; i < s.length; i++) {
        let j = i;
        while (j + 1 < s.length && s[j + 1] === s[j] + 1) {
            j++;
        }
        out.push(i === j ? String(s[i]) : s[i] + ":" + s[j]);
        i = j;
    }
    return out.join(",");
}

function gmailPlugin(opt, stats) {
    return function(server) {
        const specialUseOf = (mb) => [].concat(mb && mb["special-use"] || [])[0] || null;

        function folderBySpecialUse(su) {
            for (const p of Object.keys(server.folderCache)) {
                const mb = server.folderCache[p];
                if ([].concat(mb["special-use"] || []).indexOf(su) >= 0) {
                    return mb;
                }
            }
            return null;
        }

        function selectable(mb) {
            return mb && mb.flags.indexOf("\\Noselect") < 0 && mb.flags.indexOf("\\NonExistent") < 0;
        }

        /* The label a folder stands for, or null (All Mail, Trash, Spam, hierarchy nodes). */
        function labelForFolder(mb) {
            if (!mb) {
                return null;
            }
            if (mb === server.folderCache.INBOX) {
                return "\\Inbox";
            }
            const su = specialUseOf(mb);
            if (su) {
                return SPECIAL_USE_LABEL[su] || null;
            }
            return selectable(mb) ? mb.path : null;
        }

        function folderForLabel(label) {
            if (label === "\\Inbox") {
                return server.folderCache.INBOX;
            }
            if (LABEL_SPECIAL_USE[label]) {
                return folderBySpecialUse(LABEL_SPECIAL_USE[label]);
            }
            if (label.charAt(0) === "\\") {
                return null;
            }
            const mb = server.getMailbox(label);
            /* A label shown in IMAP is a folder that is not special-use. */
            return selectable(mb) && !specialUseOf(mb) ? mb : null;
        }

        function isUserLabel(label) {
            return label.charAt(0) !== "\\";
        }

        function desiredFolders(g) {
            if (g.location === "gone") {
                return [];
            }
            if (g.location === "trash" || g.location === "spam") {
                const mb = folderBySpecialUse(g.location === "trash" ? "\\Trash" : "\\Junk");
                return mb ? [mb] : [];
            }
            const out = [];
            const all = folderBySpecialUse("\\All");
            if (all) {
                out.push(all);
            }
            for (const l of g.labels) {
                const mb = folderForLabel(l);
                if (mb && out.indexOf(mb) < 0) {
                    out.push(mb);
                }
            }
            return out;
        }

        function setStarred(g, on) {
            const fi = g.flags.indexOf("\\Flagged");
            const li = g.labels.indexOf("\\Starred");
            if (on) {
                if (fi < 0) {
                    g.flags.push("\\Flagged");
                }
                if (li < 0) {
                    g.labels.push("\\Starred");
                }
            } else {
                if (fi >= 0) {
                    g.flags.splice(fi, 1);
                }
                if (li >= 0) {
                    g.labels.splice(li, 1);
                }
            }
        }

        function bumpModseq(mb, copy) {
            if (copy.MODSEQ !== undefined) {
                mb.HIGHESTMODSEQ = (mb.HIGHESTMODSEQ || 0) + 1;
                copy.MODSEQ = mb.HIGHESTMODSEQ;
            }
        }

        /* Push g.flags to every folder copy; \Deleted stays per folder. */
        function propagateFlags(g, except) {
            for (const [mb, copy] of g.copies) {
                if (copy === except) {
                    continue;
                }
                const del = copy.flags.indexOf("\\Deleted") >= 0;
                copy.flags = g.flags.concat(del ? ["\\Deleted"] : []);
                bumpModseq(mb, copy);
            }
        }

        /* A folder copy's flags were changed by a core handler: make them the message's. */
        function syncFromCopy(copy, dirty) {
            const g = copy.gm;
            if (!g || copy.ghost) {
                return;
            }
            const nf = copy.flags.filter((f) => f !== "\\Deleted" && f !== "\\Recent");
            const same = nf.length === g.flags.length && nf.every((f) => g.flags.indexOf(f) >= 0);
            if (same) {
                return;
            }
            const wasStarred = g.flags.indexOf("\\Flagged") >= 0;
            g.flags = nf;
            const isStarred = nf.indexOf("\\Flagged") >= 0;
            if (wasStarred !== isStarred) {
                setStarred(g, isStarred);
                dirty.add(g);
            }
            propagateFlags(g, copy);
        }

        function removeCopy(mb, copy) {
            const i = mb.messages.indexOf(copy);
            if (i < 0) {
                return;
            }
            const before = mb.messages.slice();
            copy.ghost = true;
            mb.messages.splice(i, 1);
            server.notify({ tag: "*", attributes: [i + 1, { type: "ATOM", value: "EXPUNGE" }] }, mb);
            server.notify({
                tag: "*", attributes: [mb.messages.length, { type: "ATOM", value: "EXISTS" }],
                mailboxCopy: before,
            }, mb);
        }

        function addCopy(g, mb) {
            const copy = makeCopy(g, mb.uidnext++, false);
            mb.messages.push(copy);
            server.processMessage(copy, mb);
            server.notify({ tag: "*", attributes: [mb.messages.length, { type: "ATOM", value: "EXISTS" }] }, mb);
            return copy;
        }

        /* Make folder membership follow labels/location (Gmail's invariant). */
        function reconcile(g) {
            const want = desiredFolders(g);
            for (const [mb, copy] of Array.from(g.copies)) {
                const live = server.folderCache[mb.path] === mb || mb === server.folderCache.INBOX;
                if (!live || mb.messages.indexOf(copy) < 0) {
                    g.copies.delete(mb);
                    continue;
                }
                if (want.indexOf(mb) < 0) {
                    removeCopy(mb, copy);
                    g.copies.delete(mb);
                }
            }
            for (const mb of want) {
                if (!g.copies.has(mb)) {
                    addCopy(g, mb);
                }
            }
        }

        /* What expunging (or MOVE-ing away) a message from folder mb means on Gmail. */
        function removeFromFolder(g, mb) {
            const su = specialUseOf(mb);
            if (su === "\\All" || su === "\\Sent") {
                g.location = "trash";
            } else if (su === "\\Trash" || su === "\\Junk" || su === "\\Drafts") {
                g.location = "gone";
            } else {
                const l = labelForFolder(mb);
                if (l === "\\Starred") {
                    setStarred(g, false);
                    propagateFlags(g, null);
                } else if (l) {
                    const i = g.labels.indexOf(l);
                    if (i >= 0) {
                        g.labels.splice(i, 1);
                    }
                }
            }
            reconcile(g);
            /* \Deleted is per folder: the remaining copies keep theirs. */
        }

        /* COPY into folder mb: add a label or change location; no new message. */
        function copyInto(g, mb) {
            const su = specialUseOf(mb);
            if (su === "\\Trash") {
                g.location = "trash";
            } else if (su === "\\Junk") {
                g.location = "spam";
            } else {
                if (g.location !== "all") {
                    g.location = "all";
                }
                const l = labelForFolder(mb);
                if (l === "\\Starred") {
                    setStarred(g, true);
                    propagateFlags(g, null);
                } else if (l && g.labels.indexOf(l) < 0) {
                    g.labels.push(l);
                }
            }
            reconcile(g);
            const copy = g.copies.get(mb);
            return copy ? copy.uid : null;
        }

        function ensureLabelFolder(label) {
            if (!isUserLabel(label) || folderForLabel(label) || server.getMailbox(label)) {
                return;
            }
            try {
                server.createMailbox(label, { uidvalidity: fnv1a(label) });
            } catch (e) {
                log("gmail: cannot create folder for label " + JSON.stringify(label) + ": " + e.message);
            }
        }

        /* hoodiecrow resolves every sequence set by scanning the whole folder,
           so imapc's one-UID-per-command body fetches were quadratic (minutes
           for 20k messages). Same semantics, binary search over the UIDs,
           which stay ascending because every insert uses uidnext++. */
        const coreRange = server.getMessageRange;
        server.getMessageRange = function(mailbox, range, isUid) {
            if (typeof mailbox === "string") {
                mailbox = this.getMailbox(mailbox);
            }
            const messages = Array.isArray(mailbox) ? mailbox : mailbox.messages;
            const n = messages.length;
            if (n < 64) {
                return coreRange.call(this, mailbox, range, isUid);
            }
            const total = isUid ? messages[n - 1].uid : n;
            const picked = new Set();
            for (const part of String(range || "").split(",")) {
                const t = part.split(":");
                let from = t.shift();
                if (from === "*") {
                    from = total;
                }
                from = Number(from) || 1;
                let to = t.pop() || from;
                to = Number(to === "*" && total || to) || from;
                const lo = Math.min(from, to);
                const hi = Math.max(from, to);
                if (!isUid) {
                    for (let i = Math.max(lo, 1); i <= Math.min(hi, n); i++) {
                        picked.add(i - 1);
                    }
                    continue;
                }
                let a = 0;
                let b = n;
                while (a < b) {
                    const mid = (a + b) >> 1;
                    if (messages[mid].uid < lo) {
                        a = mid + 1;
                    } else {
                        b = mid;
                    }
                }
                for (let i = a; i < n && messages[i].uid <= hi; i++) {
                    picked.add(i);
                }
            }
            return Array.from(picked).sort((x, y) => x - y).map((i) => [i + 1, messages[i]]);
        };

        /* -------- capabilities Gmail has and hoodiecrow lacks -------- */
        /* hoodiecrow's X-GM-EXT-1 plugin adds the FETCH/STORE/SEARCH items
           but never advertises the capability, so imapc would not use them. */
        server.registerCapability("X-GM-EXT-1");
        server.registerCapability("CHILDREN");
        server.registerCapability("ESEARCH");
        server.registerCapability("APPENDLIMIT=35651584");

        server.options.id = server.options.id || {
            "name": "GImap", "vendor": "Google, Inc.",
            "support-url": "https://support.google.com/mail",
        };

        /* -------- message objects -------- */
        server.messageHandlers.push(function(srv, message, mailbox) {
            let g = message.gm;
            if (!g) {
                /* APPEND: a new Gmail message labelled after the target folder. */
                const su = specialUseOf(mailbox);
                g = {
                    id: null, msgid: String(message["X-GM-MSGID"]), thrid: String(message["X-GM-MSGID"]),
                    labels: [], flags: message.flags.filter((f) => f !== "\\Deleted" && f !== "\\Recent"),
                    location: su === "\\Trash" ? "trash" : su === "\\Junk" ? "spam" : "all",
                    popDeleted: false, uidSkip: 0, raw: message.raw,
                    internaldate: message.internaldate, parsed: null, headers: null, copies: new Map(),
                };
                const l = labelForFolder(mailbox);
                if (l) {
                    g.labels.push(l);
                }
                if (l === "\\Starred" || g.flags.indexOf("\\Flagged") >= 0) {
                    setStarred(g, true);
                }
                message.flags = g.flags.slice();
                Object.defineProperty(message, "gm", { value: g, enumerable: false, writable: true });
                g.copies.set(mailbox, message);
                message["X-GM-LABELS"] = g.labels;
                stats.appended++;
                reconcile(g);
                return;
            }
            g.copies.set(mailbox, message);
            message["X-GM-LABELS"] = g.labels;
        });

        /* -------- FETCH items -------- */
        /* The whole message needs no MIME parse (hoodiecrow parses first). */
        const coreFetch = require("hoodiecrow-imap/lib/commands/handlers/fetch");
        for (const item of ["BODY", "BODY.PEEK"]) {
            server.fetchHandlers[item] = function(connection, message, query) {
                if (query && Array.isArray(query.section) && !query.section.length && !query.partial) {
                    return { type: "LITERAL", value: message.raw };
                }
                return coreFetch[item](connection, message, query);
            };
        }

        /* Gmail sends labels as quoted strings ("\\Inbox" "Work"); Google's
           documentation shows atoms. --atom-labels switches to the latter. */
        const labelAtoms = (labels) => labels.map((l) => ({ type: opt.atomLabels ? "ATOM" : "STRING", value: l }));
        function visibleLabels(connection, g) {
            if (!opt.omitSelectedLabel) {
                return g.labels;
            }
            /* Gmail leaves out the label of the selected folder. */
            const own = labelForFolder(connection.selectedMailbox);
            return g.labels.filter((l) => l !== own);
        }
        server.fetchHandlers["X-GM-MSGID"] = (connection, message) =>
            ({ type: "ATOM", value: message.gm ? message.gm.msgid : message["X-GM-MSGID"] });
        server.fetchHandlers["X-GM-THRID"] = (connection, message) =>
            ({ type: "ATOM", value: message.gm ? message.gm.thrid : message["X-GM-MSGID"] });
        server.fetchHandlers["X-GM-LABELS"] = (connection, message) =>
            labelAtoms(message.gm ? visibleLabels(connection, message.gm) : message["X-GM-LABELS"] || []);

        /* -------- STORE X-GM-LABELS -------- */
        function labelStore(mode, silent) {
            return function(connection, message, values, index, parsed, data) {
                const g = message.gm;
                const labels = values.map((v) => normalizeLabel(v && v.value !== undefined ? v.value : v));
                const starredBefore = g.labels.indexOf("\\Starred") >= 0;
                if (mode === "set") {
                    /* The selected folder's own label is implicit, as on Gmail. */
                    const own = labelForFolder(connection.selectedMailbox);
                    const keep = opt.omitSelectedLabel && own && g.labels.indexOf(own) >= 0 ? [own] : [];
                    g.labels.splice(0, g.labels.length, ...keep);
                }
                for (const l of labels) {
                    const i = g.labels.indexOf(l);
                    if (mode === "remove") {
                        if (i >= 0) {
                            g.labels.splice(i, 1);
                        }
                    } else if (i < 0) {
                        ensureLabelFolder(l);
                        g.labels.push(l);
                    }
                }
                const starredAfter = g.labels.indexOf("\\Starred") >= 0;
                if (starredBefore !== starredAfter) {
                    setStarred(g, starredAfter);
                    propagateFlags(g, null);
                }
                connection._gmDirty.add(g);
                if (silent) {
                    return;
                }
                const resp = [{ type: "ATOM", value: "X-GM-LABELS" }, labelAtoms(visibleLabels(connection, g))];
                if ((parsed.command || "").toUpperCase() === "UID STORE") {
                    resp.push({ type: "ATOM", value: "UID" }, message.uid);
                }
                connection.send({ tag: "*", attributes: [index, { type: "ATOM", value: "FETCH" }, resp] },
                    "FLAG UPDATE", parsed, data, message);
            };
        }
        server.storeHandlers["X-GM-LABELS"] = labelStore("set", false);
        server.storeHandlers["+X-GM-LABELS"] = labelStore("add", false);
        server.storeHandlers["-X-GM-LABELS"] = labelStore("remove", false);
        server.storeHandlers["X-GM-LABELS.SILENT"] = labelStore("set", true);
        server.storeHandlers["+X-GM-LABELS.SILENT"] = labelStore("add", true);
        server.storeHandlers["-X-GM-LABELS.SILENT"] = labelStore("remove", true);

        /* -------- SEARCH keys -------- */
        server.searchHandlers["X-GM-MSGID"] = (connection, message, index, value) =>
            !!message.gm && message.gm.msgid === String(value);
        server.searchHandlers["X-GM-THRID"] = (connection, message, index, value) =>
            !!message.gm && message.gm.thrid === String(value);
        server.searchHandlers["X-GM-LABELS"] = (connection, message, index, value) =>
            !!message.gm && message.gm.labels.some((l) => l.toLowerCase() === normalizeLabel(value).toLowerCase());
        server.searchHandlers["X-GM-RAW"] = (connection, message, index, value) =>
            !!message.gm && rawQueryMatches(String(value), message.gm, isUserLabel);

        /* -------- command wrappers -------- */
        function rangeOf(connection, parsed, isUid) {
            try {
                const a = parsed.attributes && parsed.attributes[0];
                if (!a || !connection.selectedMailbox || ["ATOM", "SEQUENCE"].indexOf(a.type) < 0) {
                    return [];
                }
                return server.getMessageRange(connection.selectedMailbox, a.value, isUid).map((x) => x[1]);
            } catch (e) {
                return [];
            }
        }

        function flushDirty(connection) {
            const dirty = connection._gmDirty;
            connection._gmDirty = new Set();
            for (const g of dirty) {
                reconcile(g);
            }
        }

        function wrap(name, fn) {
            const orig = server.getCommandHandler(name);
            server.setCommandHandler(name, function(connection, parsed, data, callback) {
                fn(orig, connection, parsed, data, callback);
            });
        }

        function sendTagged(connection, parsed, data, command, text, description, extra, code) {
            const attrs = [];
            if (code) {
                attrs.push({ type: "SECTION", section: code });
            }
            attrs.push({ type: "TEXT", value: text });
            connection.send({ tag: parsed.tag, command: command, attributes: attrs },
                description, parsed, data, extra);
        }

        for (const name of ["STORE", "UID STORE"]) {
            wrap(name, function(orig, connection, parsed, data, callback) {
                const range = rangeOf(connection, parsed, name === "UID STORE");
                orig(connection, parsed, data, function() {
                    for (const copy of range) {
                        syncFromCopy(copy, connection._gmDirty);
                    }
                    flushDirty(connection);
                    callback();
                });
            });
        }

        /* A non-PEEK body fetch sets \Seen on one copy: share it. */
        for (const name of ["FETCH", "UID FETCH"]) {
            wrap(name, function(orig, connection, parsed, data, callback) {
                const setsSeen = !connection.readOnly &&
                    /(^|[\s(])(BODY\[|RFC822(\.TEXT|\.HEADER)?([\s)]|$))/i.test(data);
                const range = setsSeen ? rangeOf(connection, parsed, name === "UID FETCH") : [];
                orig(connection, parsed, data, function() {
                    for (const copy of range) {
                        syncFromCopy(copy, connection._gmDirty);
                    }
                    flushDirty(connection);
                    callback();
                });
            });
        }

        function nonexistent(connection, parsed, data, name, description) {
            sendTagged(connection, parsed, data, "NO", "Unknown Mailbox: " + name + " (Failure)",
                description, null, [{ type: "ATOM", value: "NONEXISTENT" }]);
        }

        /* Gmail: NO [NONEXISTENT], and a failed SELECT leaves the client unselected. */
        for (const name of ["SELECT", "EXAMINE", "STATUS"]) {
            wrap(name, function(orig, connection, parsed, data, callback) {
                const a = parsed.attributes && parsed.attributes[0];
                const mbName = a && a.value !== undefined ? String(a.value) : null;
                const mb = mbName !== null ? server.getMailbox(mbName) : null;
                if (mbName !== null && ["Authenticated", "Selected"].indexOf(connection.state) >= 0 &&
                    !selectable(mb)) {
                    if (name !== "STATUS" && connection.state === "Selected") {
                        connection.state = "Authenticated";
                        connection.selectedMailbox = false;
                    }
                    nonexistent(connection, parsed, data, mbName, name + " FAILED");
                    return callback();
                }
                orig(connection, parsed, data, callback);
            });
        }

        /* COPY / UID COPY / MOVE / UID MOVE: labels, not new messages. */
        function copyOrMove(isUid, isMove) {
            const cmd = (isUid ? "UID " : "") + (isMove ? "MOVE" : "COPY");
            return function(connection, parsed, data, callback) {
                const at = parsed.attributes || [];
                if (at.length !== 2 || !at[0] || ["ATOM", "SEQUENCE"].indexOf(at[0].type) < 0 ||
                    !at[1] || ["ATOM", "STRING", "LITERAL"].indexOf(at[1].type) < 0) {
                    sendTagged(connection, parsed, data, "BAD", cmd + " expects sequence set and a mailbox name",
                        "INVALID COMMAND");
                    return callback();
                }
                if (connection.state !== "Selected") {
                    sendTagged(connection, parsed, data, "BAD", "Select mailbox first", cmd + " FAILED");
                    return callback();
                }
                const target = server.getMailbox(String(at[1].value));
                if (!selectable(target)) {
                    sendTagged(connection, parsed, data, "NO", "Unknown Mailbox: " + at[1].value + " (Failure)",
                        cmd + " FAIL", null, [{ type: "ATOM", value: "TRYCREATE" }]);
                    return callback();
                }
                const source = connection.selectedMailbox;
                const range = server.getMessageRange(source, at[0].value, isUid).map((x) => x[1]);
                const sourceUids = [];
                const targetUids = [];
                for (const copy of range) {
                    const g = copy.gm;
                    if (!g) {
                        continue;
                    }
                    const uid = copyInto(g, target);
                    if (uid !== null) {
                        sourceUids.push(copy.uid);
                        targetUids.push(uid);
                    }
                }
                const extra = { mailbox: target, sourceUids: sourceUids, targetUids: targetUids };
                if (isMove) {
                    if (sourceUids.length) {
                        connection.send({ tag: "*", command: "OK", attributes: [], skipResponse: true },
                            cmd + " COPYUID", parsed, data, extra);
                    }
                    for (const copy of range) {
                        if (copy.gm && target !== source && copy.gm.copies.get(source) === copy) {
                            removeFromFolder(copy.gm, source);
                        }
                    }
                    sendTagged(connection, parsed, data, "OK", "Done", cmd + " OK");
                } else if (sourceUids.length) {
                    sendTagged(connection, parsed, data, "OK", cmd + " Completed", cmd, extra);
                } else {
                    sendTagged(connection, parsed, data, "OK", cmd + " Completed", cmd + " NONE");
                }
                return callback();
            };
        }
        server.setCommandHandler("COPY", copyOrMove(false, false));
        server.setCommandHandler("UID COPY", copyOrMove(true, false));
        server.setCommandHandler("MOVE", copyOrMove(false, true));
        server.setCommandHandler("UID MOVE", copyOrMove(true, true));

        /* EXPUNGE / UID EXPUNGE / CLOSE: Gmail's "remove label" semantics. */
        function expungeIn(connection, filterUids) {
            const mb = connection.selectedMailbox;
            const victims = mb.messages.filter((c) => c.flags.indexOf("\\Deleted") >= 0 &&
                (!filterUids || filterUids.indexOf(c) >= 0));
            for (const copy of victims) {
                if (copy.gm) {
                    removeFromFolder(copy.gm, mb);
                }
            }
        }
        wrap("EXPUNGE", function(orig, connection, parsed, data, callback) {
            if (parsed.attributes || connection.state !== "Selected" || connection.readOnly) {
                return orig(connection, parsed, data, callback);
            }
            expungeIn(connection, null);
            sendTagged(connection, parsed, data, "OK", "EXPUNGE Completed", "EXPUNGE completed");
            callback();
        });
        wrap("UID EXPUNGE", function(orig, connection, parsed, data, callback) {
            const at = parsed.attributes || [];
            if (at.length !== 1 || connection.state !== "Selected" || connection.readOnly) {
                return orig(connection, parsed, data, callback);
            }
            expungeIn(connection, rangeOf(connection, parsed, true));
            sendTagged(connection, parsed, data, "OK", "UID EXPUNGE completed", "UID EXPUNGE");
            callback();
        });
        wrap("CLOSE", function(orig, connection, parsed, data, callback) {
            if (!parsed.attributes && connection.state === "Selected" && !connection.readOnly) {
                expungeIn(connection, null);
                /* CLOSE sends no EXPUNGE responses. */
                connection.notificationQueue = [];
            }
            orig(connection, parsed, data, callback);
        });

        /* SEARCH ... RETURN (...) → ESEARCH (RFC 4731), which imapc expects;
           plain SEARCH always answers "* SEARCH", even with no match. */
        for (const name of ["SEARCH", "UID SEARCH"]) {
            wrap(name, function(orig, connection, parsed, data, callback) {
                const at = parsed.attributes;
                if (at && at[0] && at[0].type === "ATOM" && at[0].value.toUpperCase() === "RETURN" &&
                    Array.isArray(at[1])) {
                    const ret = at[1].map((x) => String(x.value).toUpperCase());
                    parsed.esearch = { ret: ret.length ? ret : ["ALL"], result: [] };
                    at.splice(0, 2);
                }
                orig(connection, parsed, data, callback);
            });
        }

        /* -------- output rewriting -------- */
        server.outputHandlers.push(function(connection, response, description, parsed, data) {
            if (!parsed || (description !== "SEARCH" && description !== "UID SEARCH")) {
                return;
            }
            if (!parsed.esearch) {
                /* hoodiecrow omits the required untagged SEARCH when nothing matched. */
                if (response.tag === "*" && response.command === "SEARCH") {
                    parsed.gmSearchSent = true;
                } else if (response.tag === parsed.tag && response.command === "OK" && !parsed.gmSearchSent) {
                    parsed.gmSearchSent = true;
                    connection.send({ tag: "*", command: "SEARCH", attributes: [] }, description, parsed, data);
                }
                return;
            }
            if (response.tag === "*" && response.command === "SEARCH") {
                parsed.esearch.result = (response.attributes || []).map(Number);
                response.skipResponse = true;
                return;
            }
            if (response.tag !== parsed.tag || response.command !== "OK") {
                return;
            }
            const nums = parsed.esearch.result;
            const attrs = [[{ type: "ATOM", value: "TAG" }, { type: "STRING", value: parsed.tag }]];
            if (description === "UID SEARCH") {
                attrs.push({ type: "ATOM", value: "UID" });
            }
            for (const r of parsed.esearch.ret) {
                if (!nums.length && r !== "COUNT") {
                    continue;
                }
                if (r === "ALL") {
                    attrs.push({ type: "ATOM", value: "ALL" }, { type: "SEQUENCE", value: seqSet(nums) });
                } else if (r === "COUNT") {
                    attrs.push({ type: "ATOM", value: "COUNT" }, nums.length);
                } else if (r === "MIN") {
                    attrs.push({ type: "ATOM", value: "MIN" }, Math.min.apply(null, nums));
                } else if (r === "MAX") {
                    attrs.push({ type: "ATOM", value: "MAX" }, Math.max.apply(null, nums));
                }
            }
            delete parsed.esearch;
            connection.send({ tag: "*", command: "ESEARCH", attributes: attrs }, "ESEARCH", parsed, data);
        });

        /* hoodiecrow's SPECIAL-USE plugin drops all other attributes for
           LIST ... RETURN (SPECIAL-USE); RFC 6154 adds the special-use ones. */
        server.outputHandlers.push(function(connection, response, description, parsed, data, folder) {
            if ((description !== "LIST ITEM" && description !== "LSUB ITEM") || !parsed ||
                !parsed.listSpecialUseFlags || !folder || !response.attributes ||
                !Array.isArray(response.attributes[0])) {
                return;
            }
            const flags = folder.flags.concat([].concat(folder["special-use"] || []));
            response.attributes[0] = flags.map((f) => ({ type: "ATOM", value: f }));
        });

        /* Traffic counters: literal bytes and whole-message downloads per folder. */
        server.outputHandlers.push(function(connection, response, description) {
            if (response.tag !== "*" || (description !== "FETCH" && description !== "UID FETCH")) {
                return;
            }
            const items = response.attributes && response.attributes[2];
            if (!Array.isArray(items)) {
                return;
            }
            for (let i = 0; i + 1 < items.length; i += 2) {
                const k = items[i];
                const v = items[i + 1];
                if (v && v.type === "LITERAL") {
                    const n = (v.value || "").length;
                    stats.literal_bytes += n;
                    connection._gmStats.literal_bytes += n;
                    const key = String(k.value).toUpperCase();
                    const whole = (key === "BODY" && Array.isArray(k.section) && !k.section.length && !k.partial) ||
                        key === "RFC822";
                    if (whole) {
                        const f = connection.selectedMailbox ? connection.selectedMailbox.path : "?";
                        stats.message_bytes += n;
                        stats.messages_downloaded++;
                        stats.downloads_by_folder[f] = (stats.downloads_by_folder[f] || 0) + 1;
                        stats.bytes_by_folder[f] = (stats.bytes_by_folder[f] || 0) + n;
                    }
                }
            }
        });

        server.connectionHandlers.push(function(connection) {
            connection._gmDirty = new Set();
        });

        server.gmailState = function() {
            const folders = {};
            for (const p of Object.keys(server.folderCache)) {
                const mb = server.folderCache[p];
                folders[p] = {
                    special_use: specialUseOf(mb), selectable: selectable(mb),
                    uidvalidity: mb.uidvalidity, uidnext: mb.uidnext,
                    messages: mb.messages.map((c) => ({
                        uid: c.uid, id: c.gm ? c.gm.id : null, x_gm_msgid: c.gm ? c.gm.msgid : null,
                        flags: c.flags, labels: c.gm ? c.gm.labels : [],
                    })),
                };
            }
            return { folders: folders };
        };
    };
}


/* ------------------------------------------------------------------ */
/* OAuth2: a token endpoint and XOAUTH2 / OAUTHBEARER logins            */

/*
 * --oauth2 FILE (JSON, kept out of argv because it holds secrets):
 *   { "port": N, "cert": "srv.pem", "key": "srv.key", "lifetime": 20,
 *     "client_id": "...", "client_secret": "..." (checked when given),
 *     "refresh_tokens": { "<refresh token>": "<user>", ... },
 *     "revoked": [ "<refresh token>", ... ],
 *     "client_credentials": true (any user may log in with such a token),
 *     "issued_file": "tokens.txt" (every issued access token, one a line) }
 * POST /token (application/x-www-form-urlencoded, grant_type refresh_token
 * or client_credentials) answers {"access_token", "token_type": "Bearer",
 * "expires_in"}, or 400 {"error": "invalid_grant" | "invalid_client" |
 * "unsupported_grant_type"}. The IMAP side accepts only unexpired tokens it
 * issued for the user logging in and, as Exchange Online does, ends a
 * session whose token has expired at its next command with
 * "* BYE ... AccessTokenExpired", so the client has to log in again.
 * Counters in the stats file under "oauth2".
 */
function oauth2Start(opt, stats, writeStats) {
    const conf = JSON.parse(fs.readFileSync(opt.oauth2File, "utf8"));
    const lifetimeMs = (conf.lifetime || 60) * 1000;
    const issued = new Map();	/* access token -> { user, expires } */
    const o = stats.oauth2 = {
        token_requests: 0, tokens_issued: 0, token_refusals: 0,
        logins: 0, login_failures: 0, expired_byes: 0,
    };
    const revoked = new Set(conf.revoked || []);

    const answer = (res, status, obj) => {
        const body = JSON.stringify(obj);
        res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
        res.end(body);
        writeStats();
    };
    const https = require("https");
    const server = https.createServer({
        cert: fs.readFileSync(conf.cert), key: fs.readFileSync(conf.key),
    }, function(req, res) {
        let body = "";
        req.on("data", (c) => { body += c.toString("latin1"); });
        req.on("end", function() {
            o.token_requests++;
            if (req.method !== "POST" || req.url.split("?")[0] !== "/token") {
                return answer(res, 404, { error: "not_found" });
            }
            const form = new URLSearchParams(body);
            const refuse = (error, desc) => {
                o.token_refusals++;
                log("oauth2 token refused: " + error);
                answer(res, 400, { error: error, error_description: desc });
            };
            if (conf.client_id && form.get("client_id") !== conf.client_id) {
                return refuse("invalid_client", "Unknown client");
            }
            if (conf.client_secret && form.get("client_secret") !== conf.client_secret) {
                return refuse("invalid_client", "Bad client secret");
            }
            let user;
            const grant = form.get("grant_type");
            if (grant === "refresh_token") {
                const rt = form.get("refresh_token") || "";
                if (revoked.has(rt)) {
                    return refuse("invalid_grant", "Token has been expired or revoked.");
                }
                if (!Object.prototype.hasOwnProperty.call(conf.refresh_tokens || {}, rt)) {
                    return refuse("invalid_grant", "Bad Request");
                }
                user = conf.refresh_tokens[rt];
            } else if (grant === "client_credentials" && conf.client_credentials) {
                user = "*";
            } else {
                return refuse("unsupported_grant_type", "Grant " + grant + " not supported");
            }
            const token = "ya29.lab-" + require("crypto").randomBytes(24).toString("hex");
            issued.set(token, { user: user, expires: Date.now() + lifetimeMs });
            o.tokens_issued++;
            if (conf.issued_file) {
                fs.appendFileSync(conf.issued_file, token + "\n");
            }
            log("oauth2 token issued for " + user + " (" + o.tokens_issued + ")");
            answer(res, 200, { access_token: token, token_type: "Bearer", expires_in: lifetimeMs / 1000 });
        });
    });
    server.listen(conf.port, opt.host);

    /* the access token of a login, if it is one this endpoint issued for
       user and still valid: its expiry (ms), else 0 */
    const check = (user, token) => {
        const t = issued.get(token);
        if (!t || Date.now() >= t.expires ||
            (t.user !== "*" && t.user.toLowerCase() !== String(user).toLowerCase())) {
            return 0;
        }
        return t.expires;
    };

    return function oauth2Plugin(imap) {
        const notAuth = (connection) => connection.state === "Not Authenticated";
        imap.registerCapability("AUTH=XOAUTH2", notAuth);
        imap.registerCapability("AUTH=OAUTHBEARER", notAuth);

        const login = (mech, parse) => function(connection, parsed, data, callback) {
            const finish = (b64) => {
                const fields = Buffer.from(b64 || "", "base64").toString("utf8").split("\x01");
                const cred = parse(fields);
                const expires = cred ? check(cred.user, cred.token) : 0;
                if (!expires) {
                    o.login_failures++;
                    log("oauth2 " + mech + " login refused for " + (cred ? cred.user : "?"));
                    connection.send({ tag: parsed.tag, command: "NO", attributes: [
                        { type: "SECTION", section: [{ type: "ATOM", value: "AUTHENTICATIONFAILED" }] },
                        { type: "TEXT", value: "Invalid credentials (Failure)" }] },
                        "AUTHENTICATE " + mech + " FAILED", parsed, data);
                    writeStats();
                    return callback();
                }
                o.logins++;
                connection.state = "Authenticated";
                connection._oauth2Expires = expires;
                log("oauth2 " + mech + " login " + o.logins + " for " + cred.user);
                connection.send({ tag: parsed.tag, command: "OK", attributes: [
                    { type: "TEXT", value: cred.user + " authenticated (Success)" }] },
                    "AUTHENTICATE " + mech + " SUCCESS", parsed, data);
                writeStats();
                return callback();
            };
            if (!notAuth(connection)) {
                connection.send({ tag: parsed.tag, command: "BAD", attributes: [
                    { type: "TEXT", value: "Already authenticated" }] }, "AUTHENTICATE FAILED", parsed, data);
                return callback();
            }
            if (parsed.attributes && parsed.attributes.length === 1) {
                return finish(parsed.attributes[0].value);
            }
            connection.inputHandler = function(str) {
                connection.inputHandler = false;
                finish(str.trim());
            };
            connection.socket.write("+ \r\n");
        };
        /* user=U ^A auth=Bearer T ^A ^A */
        imap.setCommandHandler("AUTHENTICATE XOAUTH2", login("XOAUTH2", function(f) {
            const u = f.find((x) => x.startsWith("user="));
            const a = f.find((x) => x.startsWith("auth=Bearer "));
            return u && a ? { user: u.slice(5), token: a.slice(12) } : null;
        }));
        /* n,a=U, ^A host=.. ^A port=.. ^A auth=Bearer T ^A ^A (RFC 7628) */
        imap.setCommandHandler("AUTHENTICATE OAUTHBEARER", login("OAUTHBEARER", function(f) {
            const m = /^[ny]\S*?,a=([^,]*),/.exec(f[0] || "");
            const a = f.find((x) => x.startsWith("auth=Bearer "));
            return m && a ? { user: m[1].replace(/=2C/g, ",").replace(/=3D/g, "="), token: a.slice(12) } : null;
        }));

        /* a session outlives no token */
        const getHandler = imap.getCommandHandler.bind(imap);
        imap.getCommandHandler = function(command) {
            const h = getHandler(command);
            if (!h) {
                return h;
            }
            return function(connection, parsed, data, callback) {
                if (connection._oauth2Expires && Date.now() >= connection._oauth2Expires) {
                    o.expired_byes++;
                    log("oauth2 session token expired: BYE (" + o.expired_byes + ")");
                    writeStats();
                    connection.socket.write("* BYE [UNAVAILABLE] Session invalidated - AccessTokenExpired\r\n");
                    connection.socket.end();
                    return undefined;
                }
                return h(connection, parsed, data, callback);
            };
        };
    };
}

/* ------------------------------------------------------------------ */
/* main                                                                */

function main() {
    const opt = parseArgs(process.argv.slice(2));
    const account = loadAccount(opt.account);
    const user = opt.user || account.user;
    const password = opt.password !== undefined ? opt.password : account.password;
    if (!user || password === undefined) {
        usage("no user/password given and none in the account file");
    }

    const gms = account.messages.map(makeGmailMessage);
    account.messages = null;
    const seen = new Set();
    let highest = 0n;
    for (const g of gms) {
        if (seen.has(g.msgid)) {
            throw new Error("duplicate x_gm_msgid " + g.msgid);
        }
        seen.add(g.msgid);
        if (BigInt(g.msgid) > highest) {
            highest = BigInt(g.msgid);
        }
    }
    const storage = buildStorage(account, gms);

    const stats = {
        started: ts(), connections: 0, commands: {}, bytes_in: 0, bytes_out: 0,
        literal_bytes: 0, message_bytes: 0, messages_downloaded: 0, appended: 0,
        downloads_by_folder: {}, bytes_by_folder: {}, bytes_out_by_kind: {},
    };
    const writeStats = () => {
        if (opt.statsFile) {
            stats.written = ts();
            writeFileAtomic(opt.statsFile, JSON.stringify(stats, null, 1) + "\n");
        }
    };

    const plugins = ["ENABLE", "ID", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE"];
    if (opt.condstore) {
        plugins.push("CONDSTORE");
    }
    plugins.push("SPECIAL-USE", "X-GM-EXT-1", "AUTH-PLAIN", "SASL-IR", gmailPlugin(opt, stats));
    if (opt.oauth2File) {
        plugins.push(oauth2Start(opt, stats, () => writeStats()));
    }

    const server = hoodiecrow({
        plugins: plugins,
        storage: storage,
        users: { [user]: { password: String(password) } },
        "HIGHESTX-GM-MSGID": highest.toString(),
    });

    let connSeq = 0;
    server.connectionHandlers.push(function(connection) {
        const id = ++connSeq;
        const sock = connection.socket;
        const peer = sock.remoteAddress + ":" + sock.remotePort;
        connection._gmStats = { bytes_in: 0, bytes_out: 0, literal_bytes: 0 };
        stats.connections++;
        log("C" + id + " connect from " + peer);
        const write = sock.write;
        sock.write = function(chunk) {
            const n = Buffer.isBuffer(chunk) ? chunk.length : Buffer.byteLength(String(chunk), "latin1");
            stats.bytes_out += n;
            connection._gmStats.bytes_out += n;
            const head = Buffer.isBuffer(chunk) ? chunk.toString("latin1", 0, 400) : String(chunk).slice(0, 400);
            const kind = outputKind(head);
            stats.bytes_out_by_kind[kind] = (stats.bytes_out_by_kind[kind] || 0) + n;
            if (opt.trace) {
                const s = Buffer.isBuffer(chunk) ? chunk.toString("latin1") : String(chunk);
                const first = s.split("\r\n")[0];
                log("C" + id + " S: " + (first.length > 300 ? first.slice(0, 300) + "..." : first) +
                    (s.length > first.length + 2 ? " [" + n + " bytes]" : ""));
            }
            return write.apply(sock, arguments);
        };
        let pending = "";
        let literal = 0;
        sock.prependListener("data", function(chunk) {
            stats.bytes_in += chunk.length;
            connection._gmStats.bytes_in += chunk.length;
            let s = pending + chunk.toString("latin1");
            pending = "";
            for (;;) {
                if (literal > 0) {
                    const take = Math.min(literal, s.length);
                    literal -= take;
                    s = s.slice(take);
                    if (literal > 0) {
                        return;
                    }
                }
                const nl = s.indexOf("\n");
                if (nl < 0) {
                    pending = s.length > 65536 ? "" : s;
                    return;
                }
                const line = s.slice(0, nl).replace(/\r$/, "");
                s = s.slice(nl + 1);
                const lit = /\{(\d+)\+?\}$/.exec(line);
                if (lit) {
                    literal = Number(lit[1]);
                }
                const m = /^\S+\s+(UID\s+\S+|\S+)/i.exec(line);
                if (m && !connection.inputHandler) {
                    const c = m[1].toUpperCase().replace(/\s+/g, " ");
                    stats.commands[c] = (stats.commands[c] || 0) + 1;
                }
                log("C" + id + " C: " + redactClientLine(line));
            }
        });
        sock.on("close", function() {
            log("C" + id + " closed bytes_in=" + connection._gmStats.bytes_in + " bytes_out=" +
                connection._gmStats.bytes_out + " literal_bytes=" + connection._gmStats.literal_bytes);
            writeStats();
        });
    });

    const writeState = () => {
        if (opt.stateFile) {
            writeFileAtomic(opt.stateFile, JSON.stringify(server.gmailState(), null, 1) + "\n");
            log("state written to " + opt.stateFile);
        }
    };

    server.server.on("error", function(err) {
        process.stderr.write("gmail-server: " + err.message + "\n");
        process.exit(1);
    });
    server.server.listen(opt.port, opt.host, function() {
        const port = server.server.address().port;
        if (opt.pidFile) {
            writeFileAtomic(opt.pidFile, process.pid + "\n");
        }
        const ready = "GMAIL-SERVER READY port=" + port + " pid=" + process.pid + " host=" + opt.host +
            " user=" + user + " messages=" + gms.length + " hoodiecrow=" +
            require("hoodiecrow-imap/package.json").version;
        if (opt.readyFile) {
            writeFileAtomic(opt.readyFile, ready + "\n");
        }
        writeStats();
        process.stdout.write(ready + "\n");
    });

    const stop = (sig) => {
        log("stopping on " + sig);
        writeStats();
        writeState();
        process.exit(0);
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGUSR2", writeState);
    if (opt.watchPid) {
        setInterval(function() {
            try {
                process.kill(Number(opt.watchPid), 0);
            } catch (e) {
                if (e.code === "ESRCH") {
                    stop("exit of watched pid " + opt.watchPid);
                }
            }
        }, 500).unref();
    }
}

if (require.main === module) {
    try {
        main();
    } catch (e) {
        process.stderr.write("gmail-server: " + (e && e.stack || e) + "\n");
        process.exit(1);
    }
} else {
    module.exports = { gmailPlugin, buildStorage, makeGmailMessage, rawQueryMatches, seqSet };
}
