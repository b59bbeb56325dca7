// The SMS counter, with the same rules as gatewayd.sms.segment_info: GSM 03.38 when every
// character is in the basic or extension table (an extension character costs two septets),
// otherwise UCS-2 counted in UTF-16 units; one part holds 160/70 units, several parts 153/67
// each, and a part never ends inside an escape pair or a surrogate pair.

export function makeCounter(tables) {
  const basic = new Set(Array.from(tables.basic));
  const extension = new Set(Array.from(tables.extension));

  function isGsm7(chars) {
    return chars.every((c) => basic.has(c) || extension.has(c));
  }

  function partsNeeded(costs, capacity) {
    let parts = 1;
    let used = 0;
    for (const cost of costs) {
      if (used + cost > capacity) {
        parts += 1;
        used = 0;
      }
      used += cost;
    }
    return { parts, lastUnits: used };
  }

  return function count(text) {
    const chars = Array.from(text); // code points, as Python iterates a str
    const encoding = isGsm7(chars) ? "gsm7" : "ucs2";
    const costs = encoding === "gsm7"
      ? chars.map((c) => (extension.has(c) ? 2 : 1))
      : chars.map((c) => (c.codePointAt(0) > 0xffff ? 2 : 1));
    const units = costs.reduce((a, b) => a + b, 0);
    const single = tables[encoding].single;
    if (units <= single) {
      return { encoding, segments: 1, units, units_per_segment: single, remaining: single - units };
    }
    const multi = tables[encoding].multi;
    const { parts, lastUnits } = partsNeeded(costs, multi);
    return { encoding, segments: parts, units, units_per_segment: multi, remaining: multi - lastUnits };
  };
}

export async function loadCounter(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`cannot load ${url}: ${response.status}`);
  const tables = await response.json();
  const count = makeCounter(tables);
  count.maxParts = tables.max_parts;
  return count;
}
