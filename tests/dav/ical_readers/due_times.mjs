// Reads iCalendar texts (a JSON list on standard input) as ical.js (Thunderbird's library, each
// text's VTIMEZONEs registered as an app registers them) and node-ical do, and writes each
// VTODO's DUE as a UTC instant: {"ical.js": {UID: instant}, "node-ical": {UID: instant}}.
import ICAL from "ical.js";
import nodeIcal from "node-ical";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const seen = { "ical.js": {}, "node-ical": {} };
for (const text of JSON.parse(input)) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const zones = calendar.getAllSubcomponents("vtimezone");
  for (const zone of zones) ICAL.TimezoneService.register(new ICAL.Timezone(zone));
  for (const todo of calendar.getAllSubcomponents("vtodo")) {
    const due = todo.getFirstPropertyValue("due");
    seen["ical.js"][todo.getFirstPropertyValue("uid")] = due.toJSDate().toISOString();
  }
  for (const zone of zones) ICAL.TimezoneService.remove(zone.getFirstPropertyValue("tzid"));
  for (const item of Object.values(nodeIcal.sync.parseICS(text))) {
    if (item.type === "VTODO") seen["node-ical"][item.uid] = item.due.toISOString();
  }
}
process.stdout.write(JSON.stringify(seen));
