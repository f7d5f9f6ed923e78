param w[d]
data x[d], Y
model y = dot(w, x, 1)
loss mean((y - Y)^2)
