// Reads a calendar feed (iCalendar text on standard input) as ical.js (Thunderbird's library)
// does for a subscribed calendar, its VTIMEZONEs registered as an app registers them, and
// writes each VEVENT's first occurrences (its RRULE expanded, its EXDATEs left out) and each
// VTODO's summary: {"events": {UID: {summary, url, allDay, occurrences}}, "todos": {UID: summary}}.
import ICAL from "ical.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const calendar = new ICAL.Component(ICAL.parse(input));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const seen = { events: {}, todos: {}, name: calendar.getFirstPropertyValue("x-wr-calname") };
for (const component of calendar.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(component);
  const occurrences = [];
  const iterator = event.iterator();
  for (let next = iterator.next(); next && occurrences.length < 20; next = iterator.next()) {
    occurrences.push(next.isDate ? next.toString() : next.toJSDate().toISOString());
  }
  seen.events[event.uid] = {
    summary: event.summary,
    url: component.getFirstPropertyValue("url"),
    allDay: event.startDate.isDate,
    end: event.endDate.isDate ? event.endDate.toString() : event.endDate.toJSDate().toISOString(),
    occurrences,
  };
}
for (const todo of calendar.getAllSubcomponents("vtodo")) {
  seen.todos[todo.getFirstPropertyValue("uid")] = todo.getFirstPropertyValue("summary");
}
process.stdout.write(JSON.stringify(seen));
