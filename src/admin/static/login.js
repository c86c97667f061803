// The sign-in page: posts the credentials and goes to the admin page, or shows the server's message.

import { post, showMessage } from './api.js';

const form = document.getElementById('login-form');
const message = document.getElementById('form-message');

form.addEventListener('submit', signIn);

async function signIn(event) {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    showMessage(message, 'error', 'Enter your email and password.');
    (email ? form.elements.password : form.elements.email).focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await post('/admin/login', { email, password });
    location.assign('/admin');
  } catch (err) {
    showMessage(message, 'error', err.message);
    form.elements.password.select();
  } finally {
    button.disabled = false;
  }
}
