// The rules page's "test this message" box: as you type, ask /rules/test.json which rules
// would match and show them. Text from the server is set with textContent only.
const form = document.getElementById("rule-test-form");
const result = document.getElementById("rule-test-result");
let timer = null;
let asked = 0;

function show(answer) {
  const nodes = [];
  if (answer.matched.length === 0) {
    nodes.push(document.getElementById("rule-test-none").content.firstElementChild.cloneNode(true));
  } else {
    const list = document.createElement("ol");
    list.className = "rows";
    for (const rule of answer.matched) {
      const item = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = rule.name;
      item.append(name, ": ");
      for (const action of rule.actions) {
        const pill = document.createElement("span");
        pill.className = "pill";
        pill.textContent = action.type;
        const detail = action.text ?? action.to ?? action.tag ?? action.url ?? action.group_id ?? "";
        item.append(pill, " ", String(detail), " ");
      }
      list.append(item);
    }
    nodes.push(list);
  }
  if (!answer.replyable) {
    nodes.push(document.getElementById("rule-test-noreply").content.firstElementChild.cloneNode(true));
  }
  result.replaceChildren(...nodes);
}

async function ask() {
  const mine = ++asked;
  const query = new URLSearchParams(new FormData(form));
  const response = await fetch(`/rules/test.json?${query}`, { headers: { Accept: "application/json" } });
  if (!response.ok || mine !== asked) return;
  show(await response.json());
}

if (form && result) {
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 150);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
}
