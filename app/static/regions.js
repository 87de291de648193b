// Province → city → county cascade for the registration form (data from /regions?parent=). The empty
// choices' words come translated from the page (data-choose-city, data-choose-county).
(function () {
  const script = document.currentScript;
  const url = script.dataset.url;
  const chooseCity = script.dataset.chooseCity;
  const chooseCounty = script.dataset.chooseCounty;
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
    await fill(city, province.value, chooseCity, "");
    await fill(county, "", chooseCounty, "");
  });
  city.addEventListener("change", () => fill(county, city.value, chooseCounty, ""));
  (async () => {
    await fill(city, province.value, chooseCity, script.dataset.selectedCity);
    await fill(county, city.value || script.dataset.selectedCity, chooseCounty, script.dataset.selectedCounty);
  })();
})();
