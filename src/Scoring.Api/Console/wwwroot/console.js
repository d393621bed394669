// The reviewer console's behaviour: local times, the decision preview, rationale templates and the keyboard.
// Served from the app (no inline script: the Content-Security-Policy allows only 'self').
(function () {
    'use strict';

    var localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

    // Times arrive in UTC; show them in the reviewer's zone, keeping UTC on hover (the title).
    function localTimes(root) {
        root.querySelectorAll('time[datetime]').forEach(function (time) {
            var at = new Date(time.getAttribute('datetime'));
            if (!isNaN(at)) {
                time.textContent = localFormat.format(at);
            }
        });
    }

    function rows() {
        return Array.prototype.slice.call(document.querySelectorAll('tr[data-href]'));
    }

    var selectedAppeal = null;

    function select(row) {
        rows().forEach(function (r) {
            r.classList.toggle('selected', r === row);
            r.removeAttribute('aria-current');
        });
        if (row) {
            row.setAttribute('aria-current', 'true');
            selectedAppeal = row.getAttribute('data-appeal');
            var link = row.querySelector('a');
            if (link) {
                link.focus();
            }
        }
    }

    function move(step) {
        var all = rows();
        if (all.length === 0) {
            return;
        }
        var current = all.findIndex(function (r) { return r.classList.contains('selected'); });
        var next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
        select(all[next]);
    }

    function decisionForm() {
        var form = document.getElementById('decision');
        var fieldset = form && form.querySelector('fieldset');
        return form && fieldset && !fieldset.disabled ? form : null;
    }

    // Shows the preview of the chosen decision (computed by the server with the domain's scoring).
    function showPreview() {
        var form = document.getElementById('decision');
        if (!form) {
            return;
        }
        var chosen = form.querySelector('input[name="Decision"]:checked');
        var key = '';
        if (chosen) {
            key = chosen.value.toLowerCase();
            if (key === 'reduce') {
                var severity = document.getElementById('new-severity');
                key = severity && severity.value ? 'reduce-' + severity.value.toLowerCase() : '';
            }
        }
        form.querySelectorAll('[data-preview]').forEach(function (preview) {
            preview.hidden = preview.getAttribute('data-preview') !== key;
        });
    }

    function choose(value) {
        var form = decisionForm();
        var radio = form && form.querySelector('input[name="Decision"][value="' + value + '"]');
        if (!radio || radio.disabled) {
            return false;
        }
        radio.checked = true;
        showPreview();
        var focus = value === 'Reduce' ? document.getElementById('new-severity') : document.getElementById('rationale');
        if (focus) {
            focus.focus();
        }
        return true;
    }

    document.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            var form = decisionForm();
            if (form) {
                event.preventDefault();
                form.requestSubmit(document.getElementById('decide-next'));
            }
            return;
        }
        var target = event.target;
        if (event.ctrlKey || event.metaKey || event.altKey || (target.closest && target.closest('input, textarea, select, [contenteditable="true"]'))) {
            return;
        }
        if (handle(event.key, target)) {
            event.preventDefault();
        }
    });

    // One key outside a field; true when it did something (other keys keep their usual meaning).
    function handle(key, target) {
        var keys = document.getElementById('keys');
        switch (key) {
            case 'j': move(1); return rows().length > 0;
            case 'k': move(-1); return rows().length > 0;
            case 'Enter': {
                var selected = document.querySelector('tr.selected[data-href]');
                if (selected && target.tagName !== 'A' && target.tagName !== 'BUTTON') {
                    window.location.assign(selected.getAttribute('data-href'));
                    return true;
                }
                return false;
            }
            case 'n': {
                var start = document.getElementById('start-reviewing');
                if (start) {
                    start.click();
                }
                return !!start;
            }
            case 'u': return choose('Uphold');
            case 'o': return choose('Overturn');
            case 'r': return choose('Reduce');
            case '?':
                if (keys && !keys.open) {
                    keys.showModal();
                    return true;
                }
                return false;
            default: return false;
        }
    }

    document.addEventListener('change', function (event) {
        if (event.target.name === 'Decision' || event.target.id === 'new-severity') {
            showPreview();
        }
        if (event.target.id === 'templates' && event.target.value) {
            var rationale = document.getElementById('rationale');
            rationale.value = event.target.value;
            rationale.focus();
        }
    });

    document.addEventListener('click', function (event) {
        if (event.target.id === 'show-keys') {
            document.getElementById('keys').showModal();
        }
        var row = event.target.closest && event.target.closest('tr[data-href]');
        if (row && event.target.tagName !== 'A') {
            select(row);
        }
    });

    // A form is sent once: a second Enter or click while the first is on its way would take another case.
    document.addEventListener('submit', function (event) {
        var form = event.target;
        if (form.method !== 'post') {
            return;
        }
        if (form.getAttribute('data-sent') === 'true') {
            event.preventDefault();
            return;
        }
        form.setAttribute('data-sent', 'true');
    });

    // A queue in a tab nobody looks at does not ask the server every few seconds.
    document.addEventListener('htmx:beforeRequest', function (event) {
        if (document.hidden) {
            event.preventDefault();
        }
    });

    var focusInQueue = false;
    document.addEventListener('htmx:beforeSwap', function (event) {
        focusInQueue = event.target.contains(document.activeElement);
    });

    // The queue refreshes itself: keep the reviewer's place in it.
    document.addEventListener('htmx:afterSwap', function (event) {
        localTimes(event.target);
        if (selectedAppeal) {
            var row = document.querySelector('tr[data-appeal="' + CSS.escape(selectedAppeal) + '"]');
            if (row) {
                row.classList.add('selected');
                row.setAttribute('aria-current', 'true');
                var link = row.querySelector('a');
                if (focusInQueue && link) {
                    link.focus();
                }
            }
        }
    });

    localTimes(document);
    showPreview();
    document.documentElement.setAttribute('data-console-ready', 'true');
})();
