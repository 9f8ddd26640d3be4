// Peer: the original article's Express guard (router.use + jwt.verify), with signup, login, me, getAll.
const express = require('express');
const jwt = require('jsonwebtoken');
const bcrypt = require('bcrypt');
const crypto = require('crypto');

// The original passes the secret as a string. jsonwebtoken 9 then tries to read it as a public
// key on every verify, which is most of the guard's cost; JWT_KEY_OBJECT=1 hands it a prepared
// secret key instead, as a performance-minded Express user would.
const secret =
  process.env.JWT_KEY_OBJECT === '1'
    ? crypto.createSecretKey(Buffer.from(process.env.SECRET_KEY))
    : process.env.SECRET_KEY;
const rounds = Number(process.env.BCRYPT_ROUNDS || 12);
const port = Number(process.argv[2] || process.env.PORT || 1140);
const users = []; // in memory, like the project's embedded store
const usersById = new Map(); // its _id index
let nextId = 1;

// BENCH_USERS=N: N users stored at start-up (user000000@example.com, ...), as bench/seeded.py does.
const seeded = Number(process.env.BENCH_USERS || 0);
if (seeded) {
  const hash = bcrypt.hashSync('correct horse battery', rounds);
  for (let n = 0; n < seeded; n++) {
    const user = { id: String(nextId++).padStart(24, '0'), first: `U${n}`, last: 'Bench', email: `user${String(n).padStart(6, '0')}@example.com`, password: hash };
    users.push(user);
    usersById.set(user.id, user);
  }
}

const app = express();
app.use(express.json());
const router = express.Router();

const publicUser = (user) => ({ id: user.id, first: user.first, last: user.last, email: user.email });

router.post('/signup', (req, res) => {
  const { first, last, email, password } = req.body;
  if (!first || !last || !email || !password || users.some((u) => u.email === email)) {
    return res.status(400).send({ success: false, message: 'You must send all details.' });
  }
  bcrypt.hash(password, rounds).then((hash) => {
    const user = { id: String(nextId++).padStart(24, '0'), first, last, email, password: hash };
    users.push(user);
    usersById.set(user.id, user);
    res.send({ success: true });
  });
});

router.post('/login', (req, res) => {
  const user = users.find((u) => u.email === req.body.email);
  const fail = () => res.status(400).send({ success: false, message: 'The email or password is incorrect.' });
  if (!user) return fail();
  bcrypt.compare(String(req.body.password), user.password, (err, ok) => {
    if (err || !ok) return fail();
    const authToken = jwt.sign({ sub: user.id, email: user.email, first: user.first, last: user.last }, secret, {
      expiresIn: 900,
    });
    res.send({ success: true, authToken, user: publicUser(user) });
  });
});

// The original's guard, as written in the article.
router.use((req, res, next) => {
  const token = (req.headers['authorization'] || '').replace('Bearer ', '');
  return jwt.verify(token, secret, (jwtErr, claims) => {
    if (jwtErr) {
      return res.status(403).send({ success: false, message: 'Your access token is invalid.', code: 'invalidToken' });
    }
    req.claims = claims;
    next();
  });
});

// The stored user, as the project's /me reads it.
router.get('/me', (req, res) => {
  const user = usersById.get(req.claims.sub); // the stored user, as the project's /me reads it
  if (!user) {
    return res.status(403).send({ success: false, message: 'Your access token is invalid.', code: 'invalidToken' });
  }
  res.send({ success: true, user: publicUser(user) });
});

router.all('/getAll', (req, res) => {
  const limit = Number(req.query.limit || 100);
  const start = req.query.after ? users.findIndex((u) => u.id === req.query.after) + 1 : 0;
  res.status(201).send({ success: true, message: users.slice(start, start + limit).map(publicUser) });
});

app.use('/api/auth', router);
app.listen(port, '127.0.0.1', () => console.log(`express peer on 127.0.0.1:${port}`));
