param W[h, d], v[h]
data x[d], Y
model y = dot(v, W @ x)
loss mean((y - Y)^2)
