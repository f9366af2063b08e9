// The whole enrolment flow through openapi-fetch, typed by the types that
// openapi-typescript generates from the committed OpenAPI document.
// contract/check copies this file next to the generated ./schema.d.ts in a
// temporary folder, type-checks it strictly, compiles it and runs it:
//
//     node flow.js BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
//
// No casts: if the document types a body wrongly, this does not compile.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type S = components["schemas"];

const [baseUrl = "", adminEmail = "", adminPassword = ""] = process.argv.slice(2);
if (!baseUrl || !adminEmail || !adminPassword) {
  throw new Error("usage: node flow.js BASE_URL ADMIN_EMAIL ADMIN_PASSWORD");
}

// Only the JSON media types (application/json, application/problem+json)
// type `data` and `error`; CSV and XLSX are read with `parseAs`, which types
// them as string and ArrayBuffer.
type Media = `${string}/${string}json`;
const client = (token?: string) =>
  createClient<paths, Media>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

/** The body of a response that must have this status. */
function expect<D>(what: string, status: number, r: { data?: D; response: Response }): D {
  check(r.response.status === status, `${what}: expected ${status}, got ${r.response.status}`);
  check(r.data !== undefined, `${what}: no body`);
  console.log(`ok  ${what} (${status})`);
  return r.data;
}

/** The problem document of a response that must fail with this status. */
function refused<E>(what: string, status: number, r: { error?: E; response: Response }): E {
  check(r.response.status === status, `${what}: expected ${status}, got ${r.response.status}`);
  check(r.error !== undefined, `${what}: no problem document`);
  console.log(`ok  ${what} (${status})`);
  return r.error;
}

/** A CSV body as rows (no quoted commas in this flow's data); the server
 * starts it with a BOM for Excel. */
const table = (text: string): string[][] =>
  text.replace(/^\uFEFF/, "").trimEnd().split("\r\n").map((line) => line.split(","));

const isZip = (bytes: ArrayBuffer) => new Uint8Array(bytes, 0, 2).join() === "80,75"; // "PK"

async function signIn(email: string, password: string) {
  const r = await client().POST("/api/v1/auth/login", { body: { email, password } });
  return client(expect(`login ${email}`, 200, r).access_token);
}

async function main() {
  const admin = await signIn(adminEmail, adminPassword);
  // Unique names: the flow may run again on the same database.
  const tag = Math.random().toString(16).slice(2, 10);

  const unit = expect("create unit", 201, await admin.POST("/api/v1/organizations", {
    body: { kind: "hamlet", name: `Xóm ${tag}`, code: `X${tag}` },
  }));
  const trainerPassword = `trainer-${tag}-pw`;
  const trainerUser = expect("create trainer", 201, await admin.POST("/api/v1/users", {
    body: { email: `trainer-${tag}@example.org`, password: trainerPassword, full_name: `Trainer ${tag}`, role: "trainer" },
  }));
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const programme = expect("create programme", 201, await admin.POST("/api/v1/programmes", {
    body: { name: `Week ${tag}`, starts_on: day(0), ends_on: day(30) },
  }));
  const course = expect("create course", 201, await admin.POST("/api/v1/courses", {
    body: { title: `Safe searching ${tag}`, duration_minutes: 60, programme_id: programme.id },
  }));
  // Starts in ten minutes: enrolment is still open (it closes at the start)
  // and check-in codes and marks are accepted (from 30 minutes before).
  const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
  const session = expect("create session", 201, await admin.POST("/api/v1/sessions", {
    body: {
      course_id: course.id, starts_at: minutes(10), ends_at: minutes(70), venue: `Nhà văn hoá ${tag}`,
      capacity: 1, trainer_ids: [trainerUser.id], waitlist: true,
    },
  }));
  check(session.capacity === 1 && session.waitlist && session.seats_left === 1, "new session");
  const path = { id: session.id };

  const people: S["ParticipantResponse"][] = [];
  for (const n of [1, 2]) {
    people.push(expect(`create participant ${n}`, 201, await admin.POST("/api/v1/participants", {
      body: { full_name: `Người ${n} ${tag}`, category: "learner", organization_id: unit.id, gender: "female" },
    })));
  }
  const [one, two] = people;
  check(one !== undefined && two !== undefined, "two participants");

  const place = async (person: S["ParticipantResponse"], status: number) =>
    expect(`enrol ${person.full_name}`, status, await admin.POST("/api/v1/sessions/{id}/enrolments", {
      params: { path }, body: { participant_id: person.id },
    }));
  const first = await place(one, 201);
  const second = await place(two, 201);
  check(first.status === "enrolled", `first place: ${first.status}`);
  check(second.status === "waitlisted" && second.waitlist_position === 1, `second place: ${second.status}`);
  check((await place(one, 200)).id === first.id, "enrolling again answers the same place");
  const full = expect("get session", 200, await admin.GET("/api/v1/sessions/{id}", { params: { path } }));
  check(full.enrolled_count === 1 && full.waitlisted_count === 1 && full.seats_left === 0, "counts when full");

  const cancelled = expect("cancel first place", 200, await admin.DELETE("/api/v1/enrolments/{id}", {
    params: { path: { id: first.id } },
  }));
  check(cancelled.status === "cancelled", `cancelled: ${cancelled.status}`);
  const promoted = expect("get second", 200, await admin.GET("/api/v1/enrolments/{id}", {
    params: { path: { id: second.id } },
  }));
  check(promoted.status === "enrolled" && promoted.waitlist_position == null, "the waitlisted person moves up");

  // The session's trainer takes the roll-call (admins may too).
  const trainer = await signIn(trainerUser.email, trainerPassword);
  const code = expect("open check-in", 201, await trainer.POST("/api/v1/sessions/{id}/check-in-code", {
    params: { path },
  }));
  check(/^\d{6}$/.test(code.code), `code: ${code.code}`);
  const marks = expect("mark attendance", 200, await trainer.PUT("/api/v1/sessions/{id}/attendance", {
    params: { path }, body: { marks: [{ participant_id: two.id, status: "present" }] },
  }));
  check(marks.marks.map((m) => m.status).join() === "present", "stored marks");
  const problem = refused("mark a cancelled place", 422, await trainer.PUT("/api/v1/sessions/{id}/attendance", {
    params: { path }, body: { marks: [{ participant_id: one.id, status: "present" }] },
  }));
  check(problem.code === "not_enrolled", `refusal code: ${problem.code}`);
  const roll = expect("roll-call", 200, await trainer.GET("/api/v1/sessions/{id}/attendance", { params: { path } }));
  check(
    roll.items.map((e) => `${e.participant.id}:${e.mark?.status}`).join() === `${two.id}:present`,
    "roll-call entries",
  );

  // Statistics of this course only: one group (both people share category
  // and unit), the cancelled place counted apart, one person attended.
  const query = { course_id: course.id, group_by: ["category", "organization"] satisfies S["GroupKey"][] };
  const stats = expect("stats (JSON)", 200, await admin.GET("/api/v1/stats/enrolments", { params: { query } }));
  const t = stats.totals;
  check([t.enrolled, t.waitlisted, t.cancelled, t.attended, t.people, t.people_attended].join() === "1,0,1,1,1,1",
    `totals: ${JSON.stringify(t)}`);
  check(t.attendance_rate === null, "no attendance rate before the session ends");
  check(stats.rows.length === 1 && stats.rows[0]?.category === "learner" && stats.rows[0]?.organization_id === unit.id,
    `rows: ${JSON.stringify(stats.rows)}`);

  const csv = table(expect("stats (CSV)", 200, await admin.GET("/api/v1/stats/enrolments.csv", {
    params: { query }, parseAs: "text",
  })));
  check(csv[0]?.slice(0, 3).join() === "Category,Unit,Enrolled", `CSV header: ${csv[0]}`);
  check(csv.length === 3 && csv[2]?.[0] === "Total", `CSV: header, one row, totals: ${csv.length} lines`);
  check(isZip(expect("stats (XLSX)", 200, await admin.GET("/api/v1/stats/enrolments.xlsx", {
    params: { query }, parseAs: "arrayBuffer",
  }))), "an XLSX file is a ZIP archive");

  // In Vietnamese, as an official would download it.
  const exportQuery = { query: { course_id: course.id, lang: "vi" as const } };
  const [header = [], ...rows] = table(expect("export (CSV)", 200, await admin.GET("/api/v1/exports/enrolments.csv", {
    params: exportQuery, parseAs: "text",
  })));
  const status = header.indexOf("Ghi danh");
  const attendance = header.indexOf("Điểm danh");
  check(rows.map((r) => `${r[status]}:${r[attendance]}`).sort().join() === "Đã ghi danh:Có mặt,Đã hủy:",
    `export rows: ${JSON.stringify(rows)}`);
  check(isZip(expect("export (XLSX)", 200, await admin.GET("/api/v1/exports/enrolments.xlsx", {
    params: exportQuery, parseAs: "arrayBuffer",
  }))), "an XLSX file is a ZIP archive");
  console.log("typescript flow: every step as expected");
}

main().catch((failure: unknown) => {
  console.error(`FAIL ${failure instanceof Error ? failure.message : String(failure)}`);
  process.exit(1);
});
