// The one-time setup page: creates the first organization and admin from the token in the link.

import { post, showMessage } from './api.js';

const form = document.getElementById('setup-form');
const message = document.getElementById('form-message');
const token = new URLSearchParams(location.search).get('token') || '';

if (!token) showMessage(message, 'error', 'This setup link has no token. Use the link qbsync printed when it started.');
form.addEventListener('submit', setUp);

async function setUp(event) {
  event.preventDefault();
  const values = {
    org_name: form.elements.org_name.value.trim(),
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
  };
  const problem = check(values, form.elements.password2.value);
  if (problem) {
    showMessage(message, 'error', problem.text);
    form.elements[problem.field].focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await post('/admin/setup', { token, ...values });
    location.assign('/admin');
  } catch (err) {
    showMessage(message, 'error', err.message);
  } finally {
    button.disabled = false;
  }
}

function check(values, repeated) {
  if (!values.org_name) return { field: 'org_name', text: 'Enter the name of your organization.' };
  if (!values.email) return { field: 'email', text: 'Enter your email address.' };
  if (!values.password) return { field: 'password', text: 'Choose a password.' };
  if (values.password !== repeated) return { field: 'password2', text: 'The two passwords differ.' };
  return null;
}
