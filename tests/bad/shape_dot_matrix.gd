data x[d], Y
param W[2, d], v[2]
model y = dot(W, x) + sum(v)
loss mean((y - Y)^2)
