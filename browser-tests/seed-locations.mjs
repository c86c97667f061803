// Creates N locations through the JSON API (bearer token), a few requests at a time:
//   QBSYNC_URL=http://127.0.0.1:8080 QBSYNC_TOKEN=qbs_... node seed-locations.mjs 10000
const base = process.env.QBSYNC_URL;
const token = process.env.QBSYNC_TOKEN;
const count = Number(process.argv[2] || 10000);
const streets = ['Main St', 'Oak Ave', 'Harbor Way', 'Cedar Ln', 'Mill Rd', 'Park Blvd', 'Lake Dr', 'Pine St'];
const cities = ['Springfield', 'Riverton', 'Fairview', 'Lakeside', 'Georgetown', 'Salem'];

async function create(n) {
  const body = {
    name: `Site ${String(n).padStart(5, '0')} ${streets[n % streets.length]}`,
    description: `Seeded job site ${n}`,
    address: { line1: `${100 + (n % 900)} ${streets[n % streets.length]}`, city: cities[n % cities.length] },
  };
  const res = await fetch(`${base}/api/v1/locations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`location ${n}: HTTP ${res.status} ${await res.text()}`);
}

let next = 0;
async function worker() {
  while (next < count) {
    const n = next++;
    await create(n);
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: 8 }, worker));
console.log(`created ${count} locations in ${((Date.now() - started) / 1000).toFixed(1)} s`);
