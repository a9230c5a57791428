// A CalDAV session with the npm tsdav client: discovery, fetch, create, update with the ETag
// (and a stale one), sync by token. Prints what it saw as JSON for tests/dav/test_tsdav.py.
import { DAVClient } from "tsdav";

const [base, token] = process.argv.slice(2);
const client = new DAVClient({
  serverUrl: base,
  credentials: { username: "me", password: token },
  authMethod: "Basic",
  defaultAccountType: "caldav",
});
await client.login();
const calendars = await client.fetchCalendars();
const errands = calendars.find((c) => c.displayName === "Errands");
// tsdav asks for VEVENTs unless told: these calendars hold VTODOs.
const todos = [
  { "comp-filter": { _attributes: { name: "VCALENDAR" }, "comp-filter": { _attributes: { name: "VTODO" } } } },
];
const before = await client.fetchCalendarObjects({ calendar: errands, filters: todos });
const ics = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//tsdav test//EN",
  "BEGIN:VTODO",
  "UID:from-tsdav",
  "DTSTAMP:20261101T000000Z",
  "SUMMARY:From tsdav",
  "X-TSDAV-NOTE:kept",
  "END:VTODO",
  "END:VCALENDAR",
  "",
].join("\r\n");
const created = await client.createCalendarObject({
  calendar: errands,
  filename: "from-tsdav.ics",
  iCalString: ics,
});
const objects = await client.fetchCalendarObjects({ calendar: errands, filters: todos });
const mine = objects.find((o) => o.url.endsWith("/from-tsdav.ics"));
if (!mine) { console.error(JSON.stringify({created: created.status, objects: objects.map((o) => o.url)})); process.exit(3); }
const updated = await client.updateCalendarObject({
  calendarObject: { url: mine.url, etag: mine.etag, data: mine.data.replace("From tsdav", "Changed by tsdav") },
});
const stale = await client.updateCalendarObject({
  calendarObject: { url: mine.url, etag: mine.etag, data: mine.data.replace("From tsdav", "Stale") },
});
// On PostgreSQL the change feed holds a change back while an older transaction anywhere on
// the server runs: sync again, as a client does later, until the new object has come.
const sync = () =>
  client.smartCollectionSync({
    collection: { ...errands, objects: before, objectMultiGet: client.calendarMultiGet.bind(client) },
    method: "webdav",
    detailedResult: true,
  });
const named = (result) =>
  [...result.objects.created, ...result.objects.updated].some((o) => o.url.endsWith("/from-tsdav.ics"));
let synced = await sync();
for (let tries = 0; tries < 60 && !named(synced); tries++) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  synced = await sync();
}
console.log(
  JSON.stringify({
    calendars: calendars.map((c) => c.displayName).sort(),
    before: before.map((o) => o.data),
    created: created.status,
    updated: updated.status,
    stale: stale.status,
    syncToken: synced.syncToken,
    synced: {
      created: synced.objects.created.map((o) => o.url),
      updated: synced.objects.updated.map((o) => o.url),
      deleted: synced.objects.deleted.map((o) => o.url),
    },
  }),
);
