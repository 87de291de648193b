// 确认收费: recompute the amount due as the years change (消费变更). The server recomputes it again on
// submission from each charge's own fee; this only shows the clerk what will be collected.
(function () {
  const bill = document.getElementById("bill");
  if (!bill || !bill.dataset.yearsField) return;
  const input = document.getElementById(bill.dataset.yearsField);
  if (!input) return;
  const tariffs = bill.dataset.tariffs.split(",").map(Number);
  const rows = Array.from(bill.querySelectorAll("tbody tr"));
  const total = document.getElementById("bill-total");
  const min = Number(input.min || 1);
  const max = Number(input.max || 10);

  function yearsTyped() {
    const text = input.value.trim();
    const years = Number(text);
    return /^\d+$/.test(text) && years >= min && years <= max ? years : null;
  }

  function update() {
    const years = yearsTyped();
    rows.forEach((row, index) => {
      row.querySelector(".bill-years").textContent = years === null ? "—" : String(years);
      row.querySelector(".bill-amount").textContent = years === null ? "—" : String(tariffs[index] * years);
    });
    total.textContent = years === null ? "—" : String(tariffs.reduce((sum, tariff) => sum + tariff * years, 0));
  }

  input.addEventListener("input", update);
  update();
})();
