// Province → city → county cascade for the registration form (data from /regions?parent=).
(function () {
  const script = document.currentScript;
  const url = script.dataset.url;
  const province = document.getElementById("province");
  const city = document.getElementById("city");
  const county = document.getElementById("county");

  async function fill(select, parent, placeholder, selected) {
    select.innerHTML = "";
    select.add(new Option(placeholder, ""));
    if (!parent) return;
    const response = await fetch(url + "?parent=" + encodeURIComponent(parent));
    for (const region of await response.json()) {
      select.add(new Option(region.name, region.code, false, region.code === selected));
    }
  }
  province.addEventListener("change", async () => {
    await fill(city, province.value, "请选择市", "");
    await fill(county, "", "请选择县（区）", "");
  });
  city.addEventListener("change", () => fill(county, city.value, "请选择县（区）", ""));
  (async () => {
    await fill(city, province.value, "请选择市", script.dataset.selectedCity);
    await fill(county, city.value || script.dataset.selectedCity, "请选择县（区）", script.dataset.selectedCounty);
  })();
})();
