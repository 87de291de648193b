// 选择联系人: the chosen contact fills the form's contact fields (the server does the same on submit).
(function () {
  "use strict";
  var picker = document.getElementById("contact-picker");
  if (!picker) { return; }
  var targets = {name: "field-contact_name", mobile: "field-contact_mobile", email: "field-contact_email"};

  function apply() {
    var option = picker.options[picker.selectedIndex];
    var chosen = option && option.value !== "";
    Object.keys(targets).forEach(function (key) {
      var input = document.getElementById(targets[key]);
      if (!input) { return; }
      if (chosen) { input.value = option.dataset[key]; }
      input.readOnly = chosen;
    });
  }

  picker.addEventListener("change", apply);
  apply();
}());
