param w[d], v[d]
data x[d], Y
model y = dot(w @ v, x)
loss mean((y - Y)^2)
