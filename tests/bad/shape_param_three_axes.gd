data x[d], Y
param T[2, 2, d], w[d]
model y = dot(w, x)
loss mean((y - Y)^2)
